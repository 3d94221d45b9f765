//! `[data] format = "image_folder"`: Fashion-MNIST images written as PNG files into class
//! folders train exactly as the same images read from IDX files, and bad folders are refused
//! with the file named.

mod common;

use common::{repo, train_json};
use std::path::{Path, PathBuf};
use xrisk_data::readers::idx::read_idx;

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("xrisk-images-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// IDX file of unsigned bytes with the given dimensions.
fn write_idx(path: &Path, dims: &[usize], data: &[u8]) {
    let mut bytes = vec![0, 0, 0x08, dims.len() as u8];
    for &d in dims {
        bytes.extend_from_slice(&(d as u32).to_be_bytes());
    }
    bytes.extend_from_slice(data);
    std::fs::write(path, bytes).unwrap();
}

/// Writes `rows` (indices into the embedded images) of two classes as `dir/{a_sneaker,
/// b_boot}/NNNNN.png` and as IDX files `dir.images` / `dir.labels` in the order the image
/// folder reader lists them (class folders by name, files by name).
fn write_part(dir: &Path, images: &[u8], labels: &[u8], rows: &[usize]) {
    let classes = [(7u8, "a_sneaker"), (9u8, "b_boot")];
    let (mut idx_images, mut idx_labels) = (Vec::new(), Vec::new());
    for (label, (class, name)) in classes.iter().enumerate() {
        std::fs::create_dir_all(dir.join(name)).unwrap();
        for (k, &r) in rows.iter().filter(|&&r| labels[r] == *class).enumerate() {
            let pixels = &images[r * 784..(r + 1) * 784];
            let img = image::GrayImage::from_raw(28, 28, pixels.to_vec()).unwrap();
            img.save(dir.join(name).join(format!("{k:05}.png")))
                .unwrap();
            idx_images.extend_from_slice(pixels);
            idx_labels.push(label as u8);
        }
    }
    let n = idx_labels.len();
    write_idx(&dir.with_extension("images"), &[n, 28, 28], &idx_images);
    write_idx(&dir.with_extension("labels"), &[n], &idx_labels);
}

#[test]
fn an_image_folder_of_pngs_trains_like_the_same_images_from_idx() {
    let data = repo().join("crates/xrisk-data/data");
    let images = read_idx(&data.join("t10k-images-idx3-ubyte.gz"))
        .unwrap()
        .data;
    let labels = read_idx(&data.join("t10k-labels-idx1-ubyte.gz"))
        .unwrap()
        .data;
    let rows: Vec<usize> = (0..labels.len())
        .filter(|&r| labels[r] == 7 || labels[r] == 9)
        .collect();
    let d = tmp("fmnist");
    write_part(&d.join("train"), &images, &labels, &rows[..240]);
    write_part(&d.join("test"), &images, &labels, &rows[240..360]);
    let common = "[model]\nkind = \"resnet20\"\n[loss]\nkind = \"aucm\"\n[optimizer]\nkind = \"pesg\"\nlr = 0.1\n[sampler]\nbatch_size = 32\n[train]\nepochs = 1\nseed = 3\n";
    let folder_cfg = d.join("folder.toml");
    std::fs::write(
        &folder_cfg,
        format!(
            "[data]\nformat = \"image_folder\"\ntrain = \"{}\"\ntest = \"{}\"\npositive = \"b_boot\"\n{common}",
            d.join("train").display(),
            d.join("test").display()
        ),
    )
    .unwrap();
    let idx_cfg = d.join("idx.toml");
    std::fs::write(
        &idx_cfg,
        format!(
            "[data]\nformat = \"idx\"\ntrain = \"{}\"\ntrain_labels = \"{}\"\ntest = \"{}\"\ntest_labels = \"{}\"\n{common}",
            d.join("train.images").display(),
            d.join("train.labels").display(),
            d.join("test.images").display(),
            d.join("test.labels").display()
        ),
    )
    .unwrap();
    let (folder, _) = train_json(
        &folder_cfg,
        &["--out", d.join("run-folder").to_str().unwrap()],
    );
    let (idx, _) = train_json(&idx_cfg, &["--out", d.join("run-idx").to_str().unwrap()]);
    for k in ["auroc", "auprc", "pauc"] {
        let (a, b) = (&folder["test"][k], &idx["test"][k]);
        assert!(a.is_number(), "{folder}");
        assert_eq!(a, b, "test {k}: image folder {folder} vs idx {idx}");
    }
    let strip = |p: PathBuf| -> Vec<serde_json::Value> {
        std::fs::read_to_string(p)
            .unwrap()
            .lines()
            .map(|l| {
                let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
                if let Some(o) = v.as_object_mut() {
                    o.retain(|k, _| !k.contains("seconds") && !k.contains("time"));
                }
                v
            })
            .collect()
    };
    assert_eq!(
        strip(d.join("run-folder/metrics.jsonl")),
        strip(d.join("run-idx/metrics.jsonl"))
    );
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_file_that_does_not_decode_is_named() {
    let d = tmp("bad");
    std::fs::create_dir_all(d.join("train/cat")).unwrap();
    std::fs::create_dir_all(d.join("train/dog")).unwrap();
    image::GrayImage::new(8, 8)
        .save(d.join("train/cat/1.png"))
        .unwrap();
    std::fs::write(d.join("train/dog/2.jpg"), b"not a jpeg").unwrap();
    let cfg = format!(
        "[data]\nformat = \"image_folder\"\ntrain = \"{}\"\npositive = \"dog\"\n[model]\nkind = \"resnet20\"\n[loss]\nkind = \"aucm\"\n[optimizer]\nkind = \"pesg\"\n",
        d.join("train").display()
    );
    common::assert_refused(&d, &[(cfg.clone(), "2.jpg: cannot decode the image")]);
    std::fs::remove_file(d.join("train/dog/2.jpg")).unwrap();
    image::GrayImage::new(8, 8)
        .save(d.join("train/dog/2.png"))
        .unwrap();
    common::assert_refused(
        &d,
        &[(
            cfg.replace("\"dog\"", "\"bird\""),
            "no class folder is called \"bird\"",
        )],
    );
    std::fs::remove_dir_all(&d).unwrap();
}
