//! Image folders (`[data] format = "image_folder"`): one sub-folder per class, PNG and JPEG
//! images inside, as torchvision's `ImageFolder` lays them out:
//!
//! ```text
//! root/
//!   normal/    0001.png  0002.jpg …
//!   pneumonia/ 0001.png …
//! ```
//!
//! Classes are the sub-folders in name order (label = position: the first folder is class 0);
//! images are read in file-name order within each class. Each image is decoded with the `image`
//! crate, converted to grey (1 channel) or RGB (3), resized to `size` (bilinear) when given and
//! different, and stored as channel-major pixels `c·h·w` scaled to `[0, 1]` — the layout of
//! the IDX reader, so the models' `input_shape = [channels, height, width]` applies unchanged.
//! A file that does not decode is an error naming the file; hidden files (`.…`) are skipped;
//! any other file without a `.png`, `.jpg` or `.jpeg` extension is an error naming it.

use crate::dataset::Dataset;
use crate::error::{DataError, Result};
use std::path::{Path, PathBuf};

/// Options of [`read_image_folder`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImageFolderOptions {
    /// Resize every image to `[height, width]`; `None`: keep the first image's size and require
    /// the others to match.
    pub size: Option<[usize; 2]>,
    /// 1 (grey) or 3 (RGB); `None`: 1 when the first image is grey, else 3.
    pub channels: Option<usize>,
}

/// An image folder read into rows: the data set (labels = class positions), the class names in
/// label order and the image shape `[channels, height, width]`.
#[derive(Debug, Clone)]
pub struct ImageFolder {
    /// One row per image, `channels · height · width` features in `[0, 1]`.
    pub dataset: Dataset,
    /// Sub-folder names; `classes[k]` has label `k`.
    pub classes: Vec<String>,
    /// `[channels, height, width]` of every row.
    pub shape: [usize; 3],
}

impl ImageFolder {
    /// The label of the class called `name`, or an error listing the classes.
    pub fn class_label(&self, name: &str) -> Result<f32> {
        self.classes
            .iter()
            .position(|c| c == name)
            .map(|k| k as f32)
            .ok_or_else(|| {
                DataError::Invalid(format!(
                    "no class folder is called \"{name}\"; the classes are {:?}",
                    self.classes
                ))
            })
    }
}

/// Largest image accepted, in pixels per side (a guard against decoding huge files by mistake).
const MAX_SIDE: usize = 8192;
/// Largest data set built in memory, in floats (16 GiB of `f32`).
const MAX_FLOATS: usize = 1 << 32;

fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| DataError::io(dir, e))? {
        let e = e.map_err(|e| DataError::io(dir, e))?;
        if e.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        out.push(e.path());
    }
    out.sort();
    Ok(out)
}

fn is_image(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "png" | "jpg" | "jpeg"))
}

/// Reads the image folder at `root` (see the module docs).
pub fn read_image_folder(root: &Path, options: ImageFolderOptions) -> Result<ImageFolder> {
    let origin = root.display().to_string();
    if !root.is_dir() {
        return Err(DataError::Invalid(format!(
            "{origin}: not a folder; an image folder holds one sub-folder of images per class"
        )));
    }
    if let Some(c) = options.channels
        && c != 1
        && c != 3
    {
        return Err(DataError::Invalid(format!(
            "image channels must be 1 or 3, not {c}"
        )));
    }
    if let Some([h, w]) = options.size
        && (h == 0 || w == 0 || h > MAX_SIDE || w > MAX_SIDE)
    {
        return Err(DataError::Invalid(format!(
            "image size [{h}, {w}]: each side must be in 1..={MAX_SIDE}"
        )));
    }
    let mut classes = Vec::new();
    let mut files: Vec<(PathBuf, usize)> = Vec::new();
    for entry in sorted_entries(root)? {
        if !entry.is_dir() {
            continue;
        }
        let label = classes.len();
        classes.push(
            entry
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        );
        for f in sorted_entries(&entry)? {
            if f.is_dir() {
                continue;
            }
            if !is_image(&f) {
                return Err(DataError::Invalid(format!(
                    "{}: not a .png, .jpg or .jpeg file; class folders hold images only (move it out)",
                    f.display()
                )));
            }
            files.push((f, label));
        }
    }
    if classes.len() < 2 {
        return Err(DataError::Invalid(format!(
            "{origin}: {} class folder(s); an image folder needs one sub-folder per class, at least two",
            classes.len()
        )));
    }
    if files.is_empty() {
        return Err(DataError::Invalid(format!(
            "{origin}: the class folders hold no images"
        )));
    }
    let mut shape: Option<[usize; 3]> = None;
    let mut features = Vec::new();
    let mut labels = Vec::with_capacity(files.len());
    for (path, label) in &files {
        let img = image::open(path).map_err(|e| {
            DataError::Invalid(format!("{}: cannot decode the image: {e}", path.display()))
        })?;
        let (w0, h0) = (img.width() as usize, img.height() as usize);
        if w0 > MAX_SIDE || h0 > MAX_SIDE {
            return Err(DataError::Invalid(format!(
                "{}: {w0}×{h0} pixels, larger than {MAX_SIDE} per side",
                path.display()
            )));
        }
        let s = *shape.get_or_insert_with(|| {
            let c = options
                .channels
                .unwrap_or(if img.color().has_color() { 3 } else { 1 });
            let [h, w] = options.size.unwrap_or([h0, w0]);
            [c, h, w]
        });
        let [c, h, w] = s;
        if (h0, w0) != (h, w) && options.size.is_none() {
            return Err(DataError::Invalid(format!(
                "{}: {w0}×{h0} pixels, but the first image is {w}×{h}; set [data] size = [height, width] to resize them all",
                path.display()
            )));
        }
        if features.is_empty() {
            let total = files.len().saturating_mul(c * h * w);
            if total > MAX_FLOATS {
                return Err(DataError::Invalid(format!(
                    "{origin}: {} images of {c}×{h}×{w} make {total} values, more than this reader keeps in memory ({MAX_FLOATS}); set a smaller [data] size",
                    files.len()
                )));
            }
            features.reserve(total);
        }
        let img = if (h0, w0) != (h, w) {
            img.resize_exact(w as u32, h as u32, image::imageops::FilterType::Triangle)
        } else {
            img
        };
        if c == 1 {
            features.extend(
                img.to_luma8()
                    .into_raw()
                    .into_iter()
                    .map(|p| p as f32 / 255.0),
            );
        } else {
            let rgb = img.to_rgb8().into_raw();
            for ch in 0..3 {
                features.extend(rgb.iter().skip(ch).step_by(3).map(|&p| p as f32 / 255.0));
            }
        }
        labels.push(*label as f32);
    }
    let shape = shape.unwrap_or([1, 1, 1]);
    let dataset = Dataset::new(features, shape.iter().product(), labels, 1)?;
    Ok(ImageFolder {
        dataset,
        classes,
        shape,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_png(path: &Path, w: u32, h: u32, f: impl Fn(u32, u32) -> u8) {
        let img = image::GrayImage::from_fn(w, h, |x, y| image::Luma([f(x, y)]));
        img.save(path).unwrap();
    }

    fn folder(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("xrisk-imgfolder-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("cat")).unwrap();
        std::fs::create_dir_all(d.join("dog")).unwrap();
        d
    }

    #[test]
    fn reads_classes_in_order_with_pixels_scaled() {
        let d = folder("order");
        write_png(&d.join("dog/b.png"), 3, 2, |x, y| (x + 3 * y) as u8 * 10);
        write_png(&d.join("dog/a.png"), 3, 2, |_, _| 255);
        write_png(&d.join("cat/z.png"), 3, 2, |_, _| 0);
        std::fs::write(d.join(".DS_Store"), b"x").unwrap();
        let f = read_image_folder(&d, ImageFolderOptions::default()).unwrap();
        assert_eq!(f.classes, ["cat", "dog"]);
        assert_eq!(f.shape, [1, 2, 3]);
        assert_eq!(f.dataset.labels, [0.0, 1.0, 1.0]);
        assert_eq!(f.dataset.row(1), &[1.0; 6]);
        let last: Vec<f32> = (0..6).map(|i| (i * 10) as f32 / 255.0).collect();
        assert_eq!(f.dataset.row(2), &last[..]);
        assert_eq!(f.class_label("dog").unwrap(), 1.0);
        let e = f.class_label("bird").unwrap_err().to_string();
        assert!(e.contains("\"bird\"") && e.contains("cat"), "{e}");
        // Resized and expanded to RGB on request.
        let f = read_image_folder(
            &d,
            ImageFolderOptions {
                size: Some([4, 4]),
                channels: Some(3),
            },
        )
        .unwrap();
        assert_eq!(f.shape, [3, 4, 4]);
        assert_eq!(f.dataset.dim, 48);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn bad_files_are_named() {
        let d = folder("bad");
        write_png(&d.join("cat/a.png"), 2, 2, |_, _| 1);
        std::fs::write(d.join("dog/broken.png"), b"not a png").unwrap();
        let e = read_image_folder(&d, ImageFolderOptions::default())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("broken.png") && e.contains("cannot decode"),
            "{e}"
        );
        std::fs::write(d.join("dog/broken.png"), b"").unwrap();
        std::fs::remove_file(d.join("dog/broken.png")).unwrap();
        std::fs::write(d.join("dog/notes.txt"), b"hello").unwrap();
        let e = read_image_folder(&d, ImageFolderOptions::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("notes.txt") && e.contains("images only"), "{e}");
        std::fs::remove_file(d.join("dog/notes.txt")).unwrap();
        write_png(&d.join("dog/big.png"), 3, 3, |_, _| 1);
        let e = read_image_folder(&d, ImageFolderOptions::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("big.png") && e.contains("size"), "{e}");
        std::fs::remove_dir_all(d.join("dog")).unwrap();
        let e = read_image_folder(&d, ImageFolderOptions::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("at least two"), "{e}");
        let e = read_image_folder(&d.join("nope"), ImageFolderOptions::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a folder"), "{e}");
        std::fs::remove_dir_all(&d).unwrap();
    }
}
