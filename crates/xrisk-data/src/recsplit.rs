//! The recommendation protocol of LibAUC's MovieLens-20M tutorial, scaled to any interaction
//! file (spec `bilevel_ndcg_spec.md` §3.9): each user's interactions sorted by time, the first
//! one always in train, the last `test` ones held out for test and the `dev` ones before them
//! for validation, the rest train. Every user gets `eval_negatives` items it never rated,
//! sampled once (seeded), and is evaluated on its held-out items against those negatives
//! (LibAUC uses 1000 on ML-20M; with 1,682 items in ML-100k the default here is 100).
//! Users with too few interactions stay in train and are not evaluated.

use crate::error::{DataError, Result};
use crate::readers::movielens::Interactions;
use rand::SeedableRng;
use rand::seq::index;
use rand_chacha::ChaCha8Rng;

/// Settings of [`leave_last_out`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LeaveLastOut {
    /// Latest interactions per user held out for validation.
    pub dev: usize,
    /// Latest interactions per user held out for test.
    pub test: usize,
    /// Never-rated items sampled per user for evaluation.
    pub eval_negatives: usize,
    /// Seed of the negative sampling.
    pub seed: u64,
}

impl Default for LeaveLastOut {
    fn default() -> Self {
        LeaveLastOut {
            dev: 1,
            test: 1,
            eval_negatives: 100,
            seed: 2023,
        }
    }
}

/// One user's held-out items and the candidates they are ranked among.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalList {
    /// The user.
    pub user: usize,
    /// Held-out `(item, rating)` pairs.
    pub positives: Vec<(usize, f32)>,
    /// Sampled items the user never rated.
    pub negatives: Vec<usize>,
}

/// A split of interactions into train lists and dev/test evaluation lists (dense user and
/// item indices as in [`Interactions`]).
#[derive(Debug, Clone)]
pub struct RecSplit {
    /// Number of users.
    pub n_users: usize,
    /// Number of items.
    pub n_items: usize,
    /// Per user: training `(item, rating)` pairs, in time order.
    pub train: Vec<Vec<(usize, f32)>>,
    /// Validation lists (users with enough interactions).
    pub dev: Vec<EvalList>,
    /// Test lists.
    pub test: Vec<EvalList>,
}

impl RecSplit {
    /// Number of relevant training pairs.
    pub fn n_pairs(&self) -> usize {
        self.train.iter().map(Vec::len).sum()
    }

    /// Id of the first training pair of each user (pair ids are consecutive per user).
    pub fn pair_offsets(&self) -> Vec<usize> {
        let mut v = Vec::with_capacity(self.n_users + 1);
        let mut acc = 0;
        for t in &self.train {
            v.push(acc);
            acc += t.len();
        }
        v.push(acc);
        v
    }
}

/// Splits `inter` per [`LeaveLastOut`].
pub fn leave_last_out(inter: &Interactions, cfg: LeaveLastOut) -> Result<RecSplit> {
    let n_users = inter.user_ids.len();
    let n_items = inter.item_ids.len();
    if cfg.eval_negatives >= n_items {
        return Err(DataError::Invalid(format!(
            "eval_negatives = {} must be below the {n_items} items",
            cfg.eval_negatives
        )));
    }
    let mut per_user: Vec<Vec<(i64, usize, f32)>> = vec![Vec::new(); n_users];
    for i in 0..inter.len() {
        per_user[inter.users[i] as usize].push((
            inter.timestamps[i],
            inter.items[i] as usize,
            inter.ratings[i],
        ));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let (mut train, mut dev, mut test) = (Vec::new(), Vec::new(), Vec::new());
    for (user, mut list) in per_user.into_iter().enumerate() {
        // Stable: equal timestamps keep file order.
        list.sort_by_key(|e| e.0);
        let held = cfg.dev + cfg.test;
        if list.len() <= held {
            train.push(list.iter().map(|e| (e.1, e.2)).collect());
            continue;
        }
        let cut = list.len() - held;
        let mut rated = vec![false; n_items];
        for e in &list {
            rated[e.1] = true;
        }
        let unrated = n_items - rated.iter().filter(|&&r| r).count();
        let k = cfg.eval_negatives.min(unrated);
        let free: Vec<usize> = (0..n_items).filter(|&i| !rated[i]).collect();
        let negatives: Vec<usize> = index::sample(&mut rng, free.len(), k)
            .into_iter()
            .map(|j| free[j])
            .collect();
        let pairs = |s: &[(i64, usize, f32)]| s.iter().map(|e| (e.1, e.2)).collect::<Vec<_>>();
        if cfg.dev > 0 {
            dev.push(EvalList {
                user,
                positives: pairs(&list[cut..cut + cfg.dev]),
                negatives: negatives.clone(),
            });
        }
        if cfg.test > 0 {
            test.push(EvalList {
                user,
                positives: pairs(&list[cut + cfg.dev..]),
                negatives,
            });
        }
        train.push(pairs(&list[..cut]));
    }
    Ok(RecSplit {
        n_users,
        n_items,
        train,
        dev,
        test,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::readers::movielens::parse_interactions;

    #[test]
    fn latest_items_are_held_out_and_negatives_were_never_rated() {
        let text = "user_id:token\titem_id:token\trating:float\ttimestamp:float\n\
                    u1\ta\t5\t30\nu1\tb\t3\t10\nu1\tc\t4\t20\nu1\td\t1\t40\n\
                    u2\ta\t2\t5\nu2\te\t4\t6\n";
        let inter = parse_interactions(text.as_bytes(), "mem").unwrap();
        let s = leave_last_out(
            &inter,
            LeaveLastOut {
                eval_negatives: 2,
                ..LeaveLastOut::default()
            },
        )
        .unwrap();
        let item = |name: &str| inter.item_ids.iter().position(|i| i == name).unwrap();
        // u1 by time: b(10) c(20) a(30) d(40) → train b, c; dev a; test d.
        assert_eq!(s.train[0], vec![(item("b"), 3.0), (item("c"), 4.0)]);
        assert_eq!(s.dev[0].positives, vec![(item("a"), 5.0)]);
        assert_eq!(s.test[0].positives, vec![(item("d"), 1.0)]);
        assert_eq!(s.test[0].negatives.len(), 1, "only e is unrated by u1");
        assert_eq!(s.test[0].negatives, vec![item("e")]);
        // u2 has 2 interactions: all train, not evaluated.
        assert_eq!(s.train[1].len(), 2);
        assert_eq!(s.dev.len(), 1);
        assert_eq!(s.n_pairs(), 4);
        assert_eq!(s.pair_offsets(), vec![0, 2, 4]);
    }
}
