//! KEEL `.dat` files (the KEEL imbalanced collection): an ARFF-like header
//! (`@relation`, `@attribute NAME real [a, b]` or `@attribute NAME {v1, v2}`, `@inputs`,
//! `@outputs`, `@data`) and comma-separated rows. The output attribute (named by
//! `@outputs`, else the last) becomes a binary label: 1 for `positive`, 0 for anything else
//! listed in its value set. Nominal inputs become their level's 0-based index.

use super::{lines, number, open, origin};
use crate::dataset::Dataset;
use crate::error::{DataError, Result};
use std::io::BufRead;
use std::path::Path;

#[derive(Debug, Clone)]
struct Attribute {
    name: String,
    /// Levels of a nominal attribute; `None` for numeric ones.
    levels: Option<Vec<String>>,
}

fn parse_attribute(rest: &str, origin: &str, line: u64) -> Result<Attribute> {
    let rest = rest.trim();
    let (name, kind) = if let Some(stripped) = rest.strip_prefix('\'') {
        let end = stripped
            .find('\'')
            .ok_or_else(|| DataError::parse(origin, line, "unterminated quoted attribute name"))?;
        (stripped[..end].to_string(), stripped[end + 1..].trim())
    } else {
        let mut it = rest.splitn(2, |c: char| c.is_whitespace() || c == '{');
        let name = it.next().unwrap_or("").to_string();
        let kind = &rest[name.len()..];
        (name, kind.trim())
    };
    if name.is_empty() {
        return Err(DataError::parse(origin, line, "@attribute without a name"));
    }
    let levels = if let Some(body) = kind.strip_prefix('{') {
        let body = body.strip_suffix('}').ok_or_else(|| {
            DataError::parse(
                origin,
                line,
                format!("attribute \"{name}\": missing closing brace"),
            )
        })?;
        Some(body.split(',').map(|v| v.trim().to_string()).collect())
    } else {
        None
    };
    Ok(Attribute { name, levels })
}

/// Parses KEEL `.dat` text.
pub fn parse_keel<R: BufRead>(reader: R, origin: &str) -> Result<Dataset> {
    let mut attrs: Vec<Attribute> = Vec::new();
    let mut output_name: Option<String> = None;
    let mut in_data = false;
    let mut features = Vec::new();
    let mut labels = Vec::new();
    let mut out_col = 0usize;
    for item in lines(reader, origin) {
        let (line, text) = item?;
        let t = text.trim();
        if t.is_empty() || t.starts_with('%') {
            continue;
        }
        if !in_data {
            let lower = t.to_ascii_lowercase();
            if let Some(rest) = lower.strip_prefix("@attribute") {
                attrs.push(parse_attribute(&t[t.len() - rest.len()..], origin, line)?);
            } else if let Some(rest) = lower
                .strip_prefix("@outputs")
                .or_else(|| lower.strip_prefix("@output"))
            {
                output_name = Some(t[t.len() - rest.len()..].trim().to_string());
            } else if lower.starts_with("@data") {
                if attrs.len() < 2 {
                    return Err(DataError::parse(
                        origin,
                        line,
                        "@data before at least two @attribute lines",
                    ));
                }
                out_col = match &output_name {
                    Some(n) => attrs.iter().position(|a| &a.name == n).ok_or_else(|| {
                        DataError::parse(
                            origin,
                            line,
                            format!("@outputs names \"{n}\", which is not an attribute"),
                        )
                    })?,
                    None => attrs.len() - 1,
                };
                in_data = true;
            } else if !lower.starts_with('@') {
                return Err(DataError::parse(origin, line, "data before the @data line"));
            }
            continue;
        }
        let fields: Vec<&str> = t.split(',').map(str::trim).collect();
        if fields.len() != attrs.len() {
            return Err(DataError::parse(
                origin,
                line,
                format!(
                    "{} fields, but {} attributes are declared",
                    fields.len(),
                    attrs.len()
                ),
            ));
        }
        for (j, (f, a)) in fields.iter().zip(&attrs).enumerate() {
            if j == out_col {
                labels.push(if f.eq_ignore_ascii_case("positive") {
                    1.0
                } else {
                    0.0
                });
                if let Some(levels) = &a.levels
                    && !levels.iter().any(|l| l == f)
                {
                    return Err(DataError::parse(
                        origin,
                        line,
                        format!("class \"{f}\" is not among {levels:?}"),
                    ));
                }
                continue;
            }
            if *f == "?" {
                return Err(DataError::parse(
                    origin,
                    line,
                    format!(
                        "attribute \"{}\": missing value \"?\"; impute or drop the row first",
                        a.name
                    ),
                ));
            }
            let v = match &a.levels {
                Some(levels) => levels.iter().position(|l| l == f).ok_or_else(|| {
                    DataError::parse(
                        origin,
                        line,
                        format!(
                            "attribute \"{}\": \"{f}\" is not one of its levels {levels:?}",
                            a.name
                        ),
                    )
                })? as f64,
                None => number(f, origin, line, &format!("attribute \"{}\"", a.name))?,
            };
            features.push(v as f32);
        }
    }
    if !in_data {
        return Err(DataError::parse(origin, 0, "no @data line"));
    }
    Dataset::new(features, attrs.len() - 1, labels, 1)
}

/// Reads a KEEL `.dat` file.
pub fn read_keel(path: &Path) -> Result<Dataset> {
    parse_keel(open(path)?, &origin(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "@relation toy\n@attribute Sex {M, F, I}\n@attribute Len real [0.0, 1.0]\n@attribute Class {positive, negative}\n@inputs Sex, Len\n@outputs Class\n@data\nM, 0.5, negative\nI, 0.25, positive\n";

    #[test]
    fn parses_nominal_numeric_and_class() {
        let d = parse_keel(TEXT.as_bytes(), "k.dat").unwrap();
        assert_eq!(d.dim, 2);
        assert_eq!(d.features, vec![0.0, 0.5, 2.0, 0.25]);
        assert_eq!(d.labels, vec![0.0, 1.0]);
    }

    #[test]
    fn errors_name_line_and_attribute() {
        let bad = TEXT.replace("I, 0.25", "X, 0.25");
        let e = parse_keel(bad.as_bytes(), "k.dat").unwrap_err().to_string();
        assert!(
            e.starts_with("k.dat:9: attribute \"Sex\": \"X\" is not one of its levels"),
            "{e}"
        );
        let bad = TEXT.replace("M, 0.5, negative", "M, 0.5");
        assert_eq!(
            parse_keel(bad.as_bytes(), "k.dat").unwrap_err().to_string(),
            "k.dat:8: 2 fields, but 3 attributes are declared"
        );
    }
}
