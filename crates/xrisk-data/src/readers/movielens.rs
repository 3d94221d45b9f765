//! User–item interactions: MovieLens `u.data` (tab-separated `user item rating timestamp`,
//! no header) and RecBole `.inter` files (tab-separated, typed header such as
//! `user_id:token item_id:token rating:float timestamp:float`). Raw user and item ids are
//! mapped to dense indices in order of first appearance.

use super::{lines, number, open, origin};
use crate::error::{DataError, Result};
use std::collections::HashMap;
use std::io::BufRead;
use std::path::Path;

/// Interactions with dense user and item indices.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Interactions {
    /// Dense user index of each interaction.
    pub users: Vec<u32>,
    /// Dense item index of each interaction.
    pub items: Vec<u32>,
    /// Rating (1.0 where the file has none).
    pub ratings: Vec<f32>,
    /// Timestamp (0 where the file has none).
    pub timestamps: Vec<i64>,
    /// Raw id of each dense user index.
    pub user_ids: Vec<String>,
    /// Raw id of each dense item index.
    pub item_ids: Vec<String>,
}

impl Interactions {
    /// Number of interactions.
    pub fn len(&self) -> usize {
        self.users.len()
    }

    /// True when there is no interaction.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }
}

fn intern(map: &mut HashMap<String, u32>, names: &mut Vec<String>, raw: &str) -> u32 {
    if let Some(&i) = map.get(raw) {
        return i;
    }
    let i = names.len() as u32;
    map.insert(raw.to_string(), i);
    names.push(raw.to_string());
    i
}

/// Parses `u.data` or `.inter` text (recognised by a `name:type` header).
pub fn parse_interactions<R: BufRead>(reader: R, origin: &str) -> Result<Interactions> {
    let mut out = Interactions::default();
    let (mut umap, mut imap) = (HashMap::new(), HashMap::new());
    // Column positions of user, item, rating, timestamp.
    let mut layout: Option<[Option<usize>; 4]> = None;
    for item in lines(reader, origin) {
        let (line, text) = item?;
        if text.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = text.split('\t').map(str::trim).collect();
        let cols = match layout {
            Some(c) => c,
            None if fields.iter().any(|f| f.contains(':')) => {
                let find = |name: &str| {
                    fields
                        .iter()
                        .position(|f| f.split(':').next() == Some(name))
                };
                let c = [
                    find("user_id"),
                    find("item_id"),
                    find("rating"),
                    find("timestamp"),
                ];
                if c[0].is_none() || c[1].is_none() {
                    return Err(DataError::parse(
                        origin,
                        line,
                        "the header needs user_id and item_id columns (RecBole .inter format)",
                    ));
                }
                layout = Some(c);
                continue;
            }
            None => {
                let c = [Some(0), Some(1), Some(2), Some(3)];
                layout = Some(c);
                c
            }
        };
        let get = |i: Option<usize>, name: &str| -> Result<Option<&str>> {
            match i {
                None => Ok(None),
                Some(i) => fields.get(i).copied().map(Some).ok_or_else(|| {
                    DataError::parse(
                        origin,
                        line,
                        format!("{} fields, no {name} column", fields.len()),
                    )
                }),
            }
        };
        let user = get(cols[0], "user")?.unwrap_or_default();
        let item = get(cols[1], "item")?.unwrap_or_default();
        if user.is_empty() || item.is_empty() {
            return Err(DataError::parse(origin, line, "empty user or item id"));
        }
        let rating = match get(cols[2], "rating")? {
            Some(r) => number(r, origin, line, "rating")? as f32,
            None => 1.0,
        };
        let ts = match get(cols[3], "timestamp")? {
            Some(t) => number(t, origin, line, "timestamp")? as i64,
            None => 0,
        };
        out.users.push(intern(&mut umap, &mut out.user_ids, user));
        out.items.push(intern(&mut imap, &mut out.item_ids, item));
        out.ratings.push(rating);
        out.timestamps.push(ts);
    }
    Ok(out)
}

/// Reads `u.data` or a RecBole `.inter` file.
pub fn read_interactions(path: &Path) -> Result<Interactions> {
    parse_interactions(open(path)?, &origin(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_layouts() {
        let a = parse_interactions(
            "196\t242\t3\t881250949\n186\t302\t3\t891717742\n196\t302\t1\t5\n".as_bytes(),
            "u.data",
        )
        .unwrap();
        assert_eq!(a.users, vec![0, 1, 0]);
        assert_eq!(a.items, vec![0, 1, 1]);
        assert_eq!(a.user_ids, vec!["196", "186"]);
        let b = parse_interactions(
            "user_id:token\titem_id:token\trating:float\ttimestamp:float\n196\t242\t3\t881250949\n"
                .as_bytes(),
            "x.inter",
        )
        .unwrap();
        assert_eq!(
            (b.len(), b.ratings[0], b.timestamps[0]),
            (1, 3.0, 881250949)
        );
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse_interactions("1\t2\tx\t3\n".as_bytes(), "u.data").unwrap_err();
        assert_eq!(e.to_string(), "u.data:1: rating: \"x\" is not a number");
        let e = parse_interactions("1\t2\t3\t4\n1\t2\n".as_bytes(), "u.data").unwrap_err();
        assert_eq!(e.to_string(), "u.data:2: 2 fields, no rating column");
    }
}
