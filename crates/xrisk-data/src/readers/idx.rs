//! IDX files (MNIST, Fashion-MNIST): big-endian magic `0x0000_08DD` (unsigned bytes, `DD`
//! dimensions), the dimensions as big-endian u32, then the bytes. Raw or gzip.

use super::{open, origin};
use crate::dataset::Dataset;
use crate::error::{DataError, Result};
use std::io::Read;
use std::path::Path;

/// An n-dimensional array of unsigned bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct IdxArray {
    /// Dimensions, outermost first (e.g. `[60000, 28, 28]`).
    pub dims: Vec<usize>,
    /// The values, row-major.
    pub data: Vec<u8>,
}

/// Parses an IDX byte stream.
pub fn parse_idx<R: Read>(mut reader: R, origin: &str) -> Result<IdxArray> {
    let header_err = |m: String| DataError::parse(origin, 0, m);
    let mut magic = [0u8; 4];
    reader
        .read_exact(&mut magic)
        .map_err(|_| header_err("file is shorter than the 4-byte IDX magic".into()))?;
    if magic[0] != 0 || magic[1] != 0 {
        return Err(header_err(format!(
            "not an IDX file (magic {magic:02x?}, expected 00 00 08 NN)"
        )));
    }
    if magic[2] != 0x08 {
        return Err(header_err(format!(
            "IDX element type 0x{:02x} is not supported; only unsigned bytes (0x08) are",
            magic[2]
        )));
    }
    let nd = magic[3] as usize;
    if nd == 0 {
        return Err(header_err("IDX file declares 0 dimensions".into()));
    }
    let mut dims = Vec::with_capacity(nd);
    for d in 0..nd {
        let mut b = [0u8; 4];
        reader
            .read_exact(&mut b)
            .map_err(|_| header_err(format!("file ends inside dimension {d} of {nd}")))?;
        dims.push(u32::from_be_bytes(b) as usize);
    }
    let len = dims
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| header_err(format!("dimensions {dims:?} overflow")))?;
    let mut data = Vec::new();
    reader
        .take(len as u64 + 1)
        .read_to_end(&mut data)
        .map_err(|e| header_err(format!("cannot read the data: {e}")))?;
    if data.len() < len {
        return Err(header_err(format!(
            "dimensions {dims:?} need {len} bytes of data but the file holds {}",
            data.len()
        )));
    }
    if data.len() > len {
        return Err(header_err(format!(
            "dimensions {dims:?} need {len} bytes of data but the file holds more"
        )));
    }
    Ok(IdxArray { dims, data })
}

/// Reads an IDX file (raw or `.gz`).
pub fn read_idx(path: &Path) -> Result<IdxArray> {
    parse_idx(open(path)?, &origin(path))
}

/// Parses IDX bytes that may be gzip-compressed (detected by the magic bytes).
pub fn parse_idx_bytes(bytes: &[u8], origin: &str) -> Result<IdxArray> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        parse_idx(flate2::read::MultiGzDecoder::new(bytes), origin)
    } else {
        parse_idx(bytes, origin)
    }
}

/// Reads an image file and its label file into a [`Dataset`]: pixels scaled to [0, 1],
/// label = class id.
pub fn read_idx_images(images: &Path, labels: &Path) -> Result<Dataset> {
    images_dataset(
        read_idx(images)?,
        read_idx(labels)?,
        &origin(images),
        &origin(labels),
    )
}

/// [`read_idx_images`] on in-memory (raw or gzip) bytes, e.g. data embedded in a binary.
pub fn idx_images_from_bytes(images: &[u8], labels: &[u8]) -> Result<Dataset> {
    images_dataset(
        parse_idx_bytes(images, "images")?,
        parse_idx_bytes(labels, "labels")?,
        "images",
        "labels",
    )
}

fn images_dataset(
    img: IdxArray,
    lab: IdxArray,
    img_origin: &str,
    lab_origin: &str,
) -> Result<Dataset> {
    if img.dims.len() < 2 || lab.dims.len() != 1 || img.dims[0] != lab.dims[0] {
        return Err(DataError::Invalid(format!(
            "{img_origin} has dimensions {:?} and {lab_origin} has {:?}: expected [n, ...] images and [n] labels",
            img.dims, lab.dims
        )));
    }
    let dim = img.dims[1..].iter().product();
    let features = img.data.iter().map(|&p| p as f32 / 255.0).collect();
    let labels = lab.data.iter().map(|&l| l as f32).collect();
    Dataset::new(features, dim, labels, 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idx_bytes(dims: &[u32], data: &[u8]) -> Vec<u8> {
        let mut v = vec![0, 0, 8, dims.len() as u8];
        for d in dims {
            v.extend_from_slice(&d.to_be_bytes());
        }
        v.extend_from_slice(data);
        v
    }

    #[test]
    fn parses_raw_and_rejects_short_or_long_data() {
        let a = parse_idx(&idx_bytes(&[2, 3], &[1, 2, 3, 4, 5, 6])[..], "t").unwrap();
        assert_eq!(a.dims, vec![2, 3]);
        assert_eq!(a.data, vec![1, 2, 3, 4, 5, 6]);
        let e = parse_idx(&idx_bytes(&[2, 3], &[1, 2])[..], "t.idx")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("t.idx:0: dimensions [2, 3] need 6 bytes"),
            "{e}"
        );
        assert!(parse_idx(&idx_bytes(&[1], &[1, 2])[..], "t").is_err());
        assert!(
            parse_idx(&[0u8, 0, 0x0d, 1][..], "t")
                .unwrap_err()
                .to_string()
                .contains("not supported")
        );
        assert!(
            parse_idx(&b"PK\x03\x04"[..], "t")
                .unwrap_err()
                .to_string()
                .contains("not an IDX file")
        );
    }

    #[test]
    fn reads_gzip_files() {
        use std::io::Write;
        let dir = std::env::temp_dir().join(format!("xrisk-idx-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let write_gz = |name: &str, bytes: &[u8]| {
            let p = dir.join(name);
            let mut enc = flate2::write::GzEncoder::new(
                std::fs::File::create(&p).unwrap(),
                flate2::Compression::fast(),
            );
            enc.write_all(bytes).unwrap();
            enc.finish().unwrap();
            p
        };
        let img = write_gz("img.gz", &idx_bytes(&[2, 2, 1], &[0, 255, 51, 102]));
        let lab = std::fs::write(dir.join("lab"), idx_bytes(&[2], &[7, 3]))
            .map(|_| dir.join("lab"))
            .unwrap();
        let d = read_idx_images(&img, &lab).unwrap();
        assert_eq!((d.len(), d.dim), (2, 2));
        assert_eq!(d.features, vec![0.0, 1.0, 0.2, 0.4]);
        assert_eq!(d.labels, vec![7.0, 3.0]);
        std::fs::remove_dir_all(&dir).ok();
    }
}
