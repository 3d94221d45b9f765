//! Score files for `xrisk eval`: CSV with a header naming `label` and `score` and optionally
//! `query` (any order, other columns ignored).

use super::table::csv_error;
use super::{number, open, origin};
use crate::error::{DataError, Result};
use std::io::BufRead;
use std::path::Path;

/// Labels, scores and optional query ids of a prediction file.
#[derive(Debug, Clone, PartialEq)]
pub struct Predictions {
    /// The `label` column (0/1, or graded relevance ≥ 0 with queries).
    pub labels: Vec<f64>,
    /// The `score` column.
    pub scores: Vec<f64>,
    /// The `query` column, if present (any text).
    pub queries: Option<Vec<String>>,
    /// The 1-based file line of each row, for error messages.
    pub lines: Vec<u64>,
}

/// Parses a prediction CSV.
pub fn parse_predictions<R: BufRead>(reader: R, origin: &str) -> Result<Predictions> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(reader);
    let header = rdr.headers().map_err(|e| csv_error(e, origin))?.clone();
    let find = |name: &str| header.iter().position(|h| h.eq_ignore_ascii_case(name));
    let missing = |name: &str| {
        DataError::parse(
            origin,
            1,
            format!(
                "the header has no \"{name}\" column (found: {}); name the columns label,score[,query]",
                header.iter().collect::<Vec<_>>().join(", ")
            ),
        )
    };
    let label_col = find("label").ok_or_else(|| missing("label"))?;
    let score_col = find("score").ok_or_else(|| missing("score"))?;
    let query_col = find("query");
    let mut p = Predictions {
        labels: Vec::new(),
        scores: Vec::new(),
        queries: query_col.map(|_| Vec::new()),
        lines: Vec::new(),
    };
    for rec in rdr.records() {
        let rec = rec.map_err(|e| csv_error(e, origin))?;
        let line = rec.position().map(|q| q.line()).unwrap_or(0);
        if rec.len() == 1 && rec[0].is_empty() {
            continue;
        }
        if rec.len() != header.len() {
            return Err(DataError::parse(
                origin,
                line,
                format!("{} fields, but the header has {}", rec.len(), header.len()),
            ));
        }
        p.lines.push(line);
        p.labels
            .push(number(&rec[label_col], origin, line, "column \"label\"")?);
        p.scores
            .push(number(&rec[score_col], origin, line, "column \"score\"")?);
        if let (Some(qc), Some(qs)) = (query_col, p.queries.as_mut()) {
            if rec[qc].is_empty() {
                return Err(DataError::parse(
                    origin,
                    line,
                    "column \"query\": empty field",
                ));
            }
            qs.push(rec[qc].to_string());
        }
    }
    if p.labels.is_empty() {
        return Err(DataError::parse(origin, 2, "no data rows after the header"));
    }
    Ok(p)
}

/// Reads a prediction CSV (plain or `.gz`).
pub fn read_predictions(path: &Path) -> Result<Predictions> {
    parse_predictions(open(path)?, &origin(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_column_order_and_optional_query() {
        let p = parse_predictions("score,query,label\n0.5,a,1\n0.25,b,0\n".as_bytes(), "p.csv")
            .unwrap();
        assert_eq!(p.labels, vec![1.0, 0.0]);
        assert_eq!(p.scores, vec![0.5, 0.25]);
        assert_eq!(p.queries, Some(vec!["a".to_string(), "b".to_string()]));
    }

    #[test]
    fn errors_say_line_and_column() {
        let e =
            parse_predictions("label,score\n1,0.5\n0,n/a\n".as_bytes(), "preds.csv").unwrap_err();
        assert_eq!(
            e.to_string(),
            "preds.csv:3: column \"score\": \"n/a\" is not a number"
        );
        let e = parse_predictions("label,prob\n1,0.5\n".as_bytes(), "p.csv").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("p.csv:1: the header has no \"score\" column (found: label, prob)"),
            "{e}"
        );
        let e = parse_predictions("label,score\n".as_bytes(), "p.csv").unwrap_err();
        assert_eq!(e.to_string(), "p.csv:2: no data rows after the header");
        let e = parse_predictions("label,score\n1\n".as_bytes(), "p.csv").unwrap_err();
        assert_eq!(e.to_string(), "p.csv:2: 1 fields, but the header has 2");
    }
}
