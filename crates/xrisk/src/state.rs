//! Per-sample state tables (spec `libauc_spec.md` §1.2): one value per sample id, kept on the
//! training device outside the autodiff graph and updated by index select / scatter.

use crate::error::{Result, XriskError};
use burn::tensor::{Device, IndexingUpdateOp, Int, Tensor, TensorData};

/// A table of `len` scalars indexed by sample id, initialised to a constant.
///
/// Reads gather the rows of a batch; writes overwrite them. When an id occurs more than once
/// in a batch (tiled positives), the last occurrence wins, as in LibAUC.
///
/// ```
/// use burn::tensor::{Device, Tensor};
/// use xrisk::state::StateTable;
/// let device = Device::flex();
/// let mut u = StateTable::new(5, 0.0, &device);
/// u.set(&[3, 1, 3], Tensor::<1>::from_floats([1.0, 2.0, 3.0], &device));
/// assert_eq!(u.to_vec(), vec![0.0, 2.0, 0.0, 3.0, 0.0]);
/// ```
#[derive(Debug, Clone)]
pub struct StateTable {
    values: Tensor<1>,
}

impl StateTable {
    /// A table of `len` entries equal to `init`, on `device` without autodiff.
    pub fn new(len: usize, init: f32, device: &Device) -> Self {
        let device = device.clone().without_autodiff();
        StateTable {
            values: Tensor::full([len], init, &device),
        }
    }

    /// The device the table lives on.
    pub fn device(&self) -> Device {
        self.values.device()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.values.dims()[0]
    }

    /// True when the table has no entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Checks that every id fits the table.
    pub fn check_ids(&self, ids: &[usize]) -> Result<()> {
        let len = self.len();
        match ids.iter().position(|&i| i >= len) {
            Some(index) => Err(XriskError::IdOutOfRange {
                index,
                id: ids[index],
                len,
            }),
            None => Ok(()),
        }
    }

    fn index(&self, ids: &[usize]) -> Tensor<1, Int> {
        let v: Vec<i64> = ids.iter().map(|&i| i as i64).collect();
        Tensor::from_data(TensorData::new(v, [ids.len()]), &self.values.device())
    }

    /// The entries of `ids` (same order; on the table's device).
    pub fn get(&self, ids: &[usize]) -> Tensor<1> {
        self.values.clone().select(0, self.index(ids))
    }

    /// Overwrites the entries of `ids` with `new` (detached; moved to the table's device).
    pub fn set(&mut self, ids: &[usize], new: Tensor<1>) {
        // Keep the last occurrence of each id so that duplicates write once.
        let mut last = std::collections::HashMap::with_capacity(ids.len());
        for (pos, &id) in ids.iter().enumerate() {
            last.insert(id, pos);
        }
        let mut keep: Vec<(usize, usize)> = last.into_iter().collect();
        keep.sort_unstable();
        let (uids, pos): (Vec<usize>, Vec<usize>) = keep.into_iter().unzip();
        let device = self.values.device();
        let new = new.detach().to_device(&device);
        let pos_t: Tensor<1, Int> = Tensor::from_data(
            TensorData::new(
                pos.iter().map(|&p| p as i64).collect::<Vec<_>>(),
                [pos.len()],
            ),
            &device,
        );
        let new = new.select(0, pos_t);
        let idx = self.index(&uids);
        // Overwrite exactly (ids are unique here): adding `new − old` would lose `new` when
        // the magnitudes differ and turn infinite entries into NaN.
        // Take the table out so that it is the only reference: the backend then writes in
        // place instead of copying all N entries (a clone here made every step O(N)).
        let values = std::mem::replace(&mut self.values, Tensor::zeros([0], &device));
        self.values = values.select_assign(0, idx, new, IndexingUpdateOp::Assign);
    }

    /// Overwrites every entry with `values` (same length; checked by the caller).
    pub fn load(&mut self, values: &[f32]) {
        let device = self.values.device();
        self.values = Tensor::from_data(TensorData::new(values.to_vec(), [values.len()]), &device);
    }

    /// All entries, copied to the host.
    pub fn to_vec(&self) -> Vec<f32> {
        self.values
            .clone()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_and_get_with_duplicates_last_write_wins() {
        let device = Device::flex();
        let mut t = StateTable::new(5, 0.5, &device);
        let new = Tensor::<1>::from_data(TensorData::new(vec![1.0f32, 2.0, 3.0], [3]), &device);
        t.set(&[3, 1, 3], new);
        assert_eq!(t.to_vec(), vec![0.5, 2.0, 0.5, 3.0, 0.5]);
        // Exact overwrite across magnitudes and of infinite entries.
        let mut big = StateTable::new(3, f32::MIN, &device);
        big.set(
            &[0, 2],
            Tensor::<1>::from_floats([1e-7, f32::NEG_INFINITY], &device),
        );
        big.set(&[2], Tensor::<1>::from_floats([0.25], &device));
        assert_eq!(big.to_vec(), vec![1e-7, f32::MIN, 0.25]);
        assert_eq!(
            t.get(&[3, 0]).into_data().try_to_vec::<f32>().unwrap(),
            vec![3.0, 0.5]
        );
        assert!(matches!(
            t.check_ids(&[0, 5]),
            Err(XriskError::IdOutOfRange {
                index: 1,
                id: 5,
                len: 5
            })
        ));
    }
}
