//! The few operations xrisk's own kernels ([`crate::conv`], [`crate::norm`]) need on burn-flex
//! tensors: the shape, the `f32` storage as one row-major slice, and a new tensor from a `Vec`.

use burn::backend::TensorMetadata;
use burn::tensor::TensorData;
use burn_flex::FlexTensor;

/// The tensor's dimensions.
pub(crate) fn dims(t: &FlexTensor) -> Vec<usize> {
    t.shape().iter().copied().collect()
}

/// The tensor with its elements in row-major order (a copy only when it is not contiguous).
pub(crate) fn contiguous(t: FlexTensor) -> FlexTensor {
    if t.as_slice::<f32>().is_some() {
        t
    } else {
        t.to_contiguous()
    }
}

/// The `f32` elements of a [`contiguous`] tensor (empty for another element type).
pub(crate) fn slice(t: &FlexTensor) -> &[f32] {
    t.as_slice::<f32>().unwrap_or_default()
}

/// A tensor of `shape` holding `data` (row-major).
pub(crate) fn new_tensor(data: Vec<f32>, shape: Vec<usize>) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(data, shape))
}
