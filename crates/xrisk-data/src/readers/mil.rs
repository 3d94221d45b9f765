//! Multiple-instance CSV (the `mil` package's data sets): no header; column 0 the bag label
//! (0/1), column 1 the bag id, the remaining columns one instance's features. Rows of a bag
//! need not be contiguous; bags are kept in order of first appearance.

use super::table::csv_error;
use super::{number, open, origin};
use crate::error::{DataError, Result};
use std::collections::HashMap;
use std::io::BufRead;
use std::path::Path;

/// One bag of instances.
#[derive(Debug, Clone, PartialEq)]
pub struct Bag {
    /// The bag id as written in the file.
    pub id: String,
    /// Bag label (0 or 1).
    pub label: f32,
    /// Row-major instance features, `n_instances * dim` values.
    pub instances: Vec<f32>,
}

/// Bags of instances with a common feature dimension.
#[derive(Debug, Clone, PartialEq)]
pub struct MilDataset {
    /// The bags.
    pub bags: Vec<Bag>,
    /// Features per instance.
    pub dim: usize,
}

impl MilDataset {
    /// Total number of instances.
    pub fn n_instances(&self) -> usize {
        self.bags.iter().map(|b| b.instances.len()).sum::<usize>() / self.dim.max(1)
    }
}

/// Parses MIL CSV text.
pub fn parse_mil<R: BufRead>(reader: R, origin: &str) -> Result<MilDataset> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(reader);
    let mut bags: Vec<Bag> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut dim: Option<usize> = None;
    for rec in rdr.records() {
        let rec = rec.map_err(|e| csv_error(e, origin))?;
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        if rec.len() == 1 && rec[0].is_empty() {
            continue;
        }
        if rec.len() < 3 {
            return Err(DataError::parse(
                origin,
                line,
                format!(
                    "{} fields; expected bag label, bag id and at least one feature",
                    rec.len()
                ),
            ));
        }
        let d = rec.len() - 2;
        match dim {
            None => dim = Some(d),
            Some(expected) if expected != d => {
                return Err(DataError::parse(
                    origin,
                    line,
                    format!("{d} features, but earlier instances have {expected}"),
                ));
            }
            _ => {}
        }
        let label = number(&rec[0], origin, line, "bag label (column 1)")?;
        if label != 0.0 && label != 1.0 {
            return Err(DataError::parse(
                origin,
                line,
                format!("bag label (column 1): {label} is not 0 or 1"),
            ));
        }
        let id = rec[1].to_string();
        let b = *index.entry(id.clone()).or_insert_with(|| {
            bags.push(Bag {
                id: id.clone(),
                label: label as f32,
                instances: Vec::new(),
            });
            bags.len() - 1
        });
        if bags[b].label != label as f32 {
            return Err(DataError::parse(
                origin,
                line,
                format!(
                    "bag \"{id}\" has label {label} here but {} on an earlier line",
                    bags[b].label
                ),
            ));
        }
        for (j, f) in rec.iter().skip(2).enumerate() {
            let v = number(
                f,
                origin,
                line,
                &format!("feature {} (column {})", j + 1, j + 3),
            )?;
            bags[b].instances.push(v as f32);
        }
    }
    let dim = dim.ok_or_else(|| DataError::parse(origin, 1, "the file has no instance"))?;
    Ok(MilDataset { bags, dim })
}

/// Reads a MIL CSV file.
pub fn read_mil(path: &Path) -> Result<MilDataset> {
    parse_mil(open(path)?, &origin(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_instances_into_bags() {
        let d = parse_mil("1,b1,0.5,1\n0,b2,2,3\n1,b1,4,5\n".as_bytes(), "m.csv").unwrap();
        assert_eq!(d.dim, 2);
        assert_eq!(d.bags.len(), 2);
        assert_eq!(d.bags[0].instances, vec![0.5, 1.0, 4.0, 5.0]);
        assert_eq!(d.n_instances(), 3);
    }

    #[test]
    fn errors_name_line_and_field() {
        let e = parse_mil("1,b1,0.5\n0,b1,2\n".as_bytes(), "m.csv").unwrap_err();
        assert_eq!(
            e.to_string(),
            "m.csv:2: bag \"b1\" has label 0 here but 1 on an earlier line"
        );
        let e = parse_mil("1,b1,0.5,1\n1,b1,x,1\n".as_bytes(), "m.csv").unwrap_err();
        assert_eq!(
            e.to_string(),
            "m.csv:2: feature 1 (column 3): \"x\" is not a number"
        );
        let e = parse_mil("2,b1,0.5\n".as_bytes(), "m.csv").unwrap_err();
        assert_eq!(
            e.to_string(),
            "m.csv:1: bag label (column 1): 2 is not 0 or 1"
        );
    }
}
