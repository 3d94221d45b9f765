//! Numeric CSV / TSV tables (river's Yeast, sklearn's CSVs, HIVA-style data, exported
//! parquet): a header row (optional), then numbers. Built on the `csv` crate; every error
//! names the file, the line and the column.

use super::{number, open, origin};
use crate::dataset::Dataset;
use crate::error::{DataError, Result};
use std::io::BufRead;
use std::path::Path;

/// A table of finite numbers with column names.
#[derive(Debug, Clone, PartialEq)]
pub struct NumericTable {
    /// Column names (from the header, or `c0`, `c1`, … without one).
    pub columns: Vec<String>,
    /// Row-major values.
    pub values: Vec<f64>,
}

impl NumericTable {
    /// Number of rows.
    pub fn n_rows(&self) -> usize {
        self.values
            .len()
            .checked_div(self.columns.len())
            .unwrap_or(0)
    }

    /// Index of the column called `name`, or an error listing the columns.
    pub fn column_index(&self, name: &str) -> Result<usize> {
        self.columns.iter().position(|c| c == name).ok_or_else(|| {
            DataError::Invalid(format!(
                "no column \"{name}\"; the columns are: {}",
                self.columns.join(", ")
            ))
        })
    }

    /// Splits the table into a [`Dataset`]: the `label_columns` (in that order) become the
    /// labels (one task each), every other column a feature.
    pub fn into_dataset(self, label_columns: &[usize]) -> Result<Dataset> {
        let w = self.columns.len();
        if label_columns.is_empty() || label_columns.iter().any(|&c| c >= w) {
            return Err(DataError::Invalid(format!(
                "label columns {label_columns:?} are not all among the {w} columns"
            )));
        }
        let feature_cols: Vec<usize> = (0..w).filter(|c| !label_columns.contains(c)).collect();
        let mut features = Vec::with_capacity(self.n_rows() * feature_cols.len());
        let mut labels = Vec::with_capacity(self.n_rows() * label_columns.len());
        for row in self.values.chunks(w) {
            features.extend(feature_cols.iter().map(|&c| row[c] as f32));
            labels.extend(label_columns.iter().map(|&c| row[c] as f32));
        }
        Dataset::new(features, feature_cols.len(), labels, label_columns.len())
    }
}

/// Parses a delimited numeric table.
pub fn parse_table<R: BufRead>(
    reader: R,
    origin: &str,
    delimiter: u8,
    has_header: bool,
) -> Result<NumericTable> {
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(reader);
    let mut columns: Option<Vec<String>> = None;
    let mut values = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| csv_error(e, origin))?;
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        if rec.len() == 1 && rec[0].is_empty() {
            continue;
        }
        match &columns {
            None if has_header => {
                columns = Some(rec.iter().map(str::to_string).collect());
                continue;
            }
            None => columns = Some((0..rec.len()).map(|i| format!("c{i}")).collect()),
            Some(_) => {}
        }
        let cols = columns.as_ref().map(Vec::len).unwrap_or(0);
        if rec.len() != cols {
            return Err(DataError::parse(
                origin,
                line,
                format!("{} fields, but the table has {cols} columns", rec.len()),
            ));
        }
        let names = columns.as_deref().unwrap_or(&[]);
        for (field, name) in rec.iter().zip(names) {
            values.push(number(field, origin, line, &format!("column \"{name}\""))?);
        }
    }
    let columns = columns.ok_or_else(|| DataError::parse(origin, 1, "the file is empty"))?;
    Ok(NumericTable { columns, values })
}

/// Reads a delimited numeric table from a file (plain or `.gz`).
pub fn read_table(path: &Path, delimiter: u8, has_header: bool) -> Result<NumericTable> {
    parse_table(open(path)?, &origin(path), delimiter, has_header)
}

/// A `csv` crate error as a parse error with the line it happened on.
pub(crate) fn csv_error(e: csv::Error, origin: &str) -> DataError {
    let line = e.position().map(|p| p.line()).unwrap_or(0);
    let message = match e.kind() {
        csv::ErrorKind::Utf8 { .. } => "the line is not valid UTF-8".to_string(),
        csv::ErrorKind::Io(io) => format!("cannot read: {io}"),
        _ => e.to_string(),
    };
    DataError::parse(origin, line, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_header_and_splits_labels() {
        let t = parse_table("a,b,y\n1,2,0\n3, 4 ,1\n".as_bytes(), "t.csv", b',', true).unwrap();
        assert_eq!(t.columns, vec!["a", "b", "y"]);
        let y = t.column_index("y").unwrap();
        let d = t.into_dataset(&[y]).unwrap();
        assert_eq!(d.features, vec![1.0, 2.0, 3.0, 4.0]);
        assert_eq!(d.labels, vec![0.0, 1.0]);
    }

    #[test]
    fn errors_name_line_and_column() {
        let e = parse_table("a\tb\n1\tx\n".as_bytes(), "t.tsv", b'\t', true).unwrap_err();
        assert_eq!(
            e.to_string(),
            "t.tsv:2: column \"b\": \"x\" is not a number"
        );
        let e = parse_table("1,2\n3\n".as_bytes(), "t.csv", b',', false).unwrap_err();
        assert_eq!(
            e.to_string(),
            "t.csv:2: 1 fields, but the table has 2 columns"
        );
        let t = parse_table("a,b\n1,2\n".as_bytes(), "t.csv", b',', true).unwrap();
        assert!(
            t.column_index("z")
                .unwrap_err()
                .to_string()
                .contains("the columns are: a, b")
        );
    }
}
