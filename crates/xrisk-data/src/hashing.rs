//! Hashed bag-of-n-grams features for short texts, with no vocabulary to download or fit:
//! lower-cased word unigrams and bigrams and character trigrams of each word (padded with
//! spaces), each hashed (FNV-1a, 64 bit) into `buckets` slots. A text becomes its distinct
//! slots with `1 + ln(count)` weights, scaled to unit L2 norm — the input of a bag encoder
//! (issue 5: "a text encoder for short texts — hashing bag-of-n-grams").

/// A text as sparse hashed features.
#[derive(Debug, Clone, PartialEq)]
pub struct SparseText {
    /// Distinct slots, ascending.
    pub slots: Vec<u32>,
    /// Their weights (unit L2 norm).
    pub weights: Vec<f32>,
}

fn fnv1a(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            h ^= 0x1f;
            h = h.wrapping_mul(0x100000001b3);
        }
        for b in p.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x100000001b3);
        }
    }
    h
}

/// The hashed features of `text` in `buckets` slots (`buckets ≥ 1`), at most `max_slots` of
/// them (the heaviest kept; ties by slot).
pub fn hash_text(text: &str, buckets: u32, max_slots: usize) -> SparseText {
    let lower = text.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let mut counts = std::collections::BTreeMap::<u32, f32>::new();
    let buckets = u64::from(buckets.max(1));
    let mut add = |h: u64| *counts.entry((h % buckets) as u32).or_insert(0.0) += 1.0;
    for (i, w) in words.iter().enumerate() {
        add(fnv1a(&["w", w]));
        if let Some(next) = words.get(i + 1) {
            add(fnv1a(&["b", w, next]));
        }
        let padded: Vec<char> = format!(" {w} ").chars().collect();
        for tri in padded.windows(3) {
            let s: String = tri.iter().collect();
            add(fnv1a(&["c", &s]));
        }
    }
    let mut items: Vec<(u32, f32)> = counts.into_iter().map(|(k, c)| (k, 1.0 + c.ln())).collect();
    if items.len() > max_slots {
        items.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        items.truncate(max_slots);
        items.sort_by_key(|a| a.0);
    }
    let norm = items
        .iter()
        .map(|(_, w)| w * w)
        .sum::<f32>()
        .sqrt()
        .max(1e-12);
    SparseText {
        slots: items.iter().map(|(k, _)| *k).collect(),
        weights: items.iter().map(|(_, w)| w / norm).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_words_same_features_and_unit_norm() {
        let a = hash_text("Cheap Watches!", 1 << 16, 512);
        let b = hash_text("cheap   watches", 1 << 16, 512);
        assert_eq!(a, b);
        let n: f32 = a.weights.iter().map(|w| w * w).sum();
        assert!((n - 1.0).abs() < 1e-5);
        // 2 words, 1 bigram, 5 + 7 trigrams of " cheap " and " watches ", "che" shared: 14.
        assert_eq!(a.slots.len(), 14);
        let c = hash_text("expensive clocks", 1 << 16, 512);
        assert_ne!(a.slots, c.slots);
        assert_eq!(hash_text("a b c d e f g h", 1 << 16, 4).slots.len(), 4);
        assert!(hash_text("", 16, 4).slots.is_empty());
    }
}
