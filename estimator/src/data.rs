//! Batching for burn: the windows of [`holoscale_datasets::tensor::Windowed`] (plain
//! arrays) as burn tensors on a device.
//!
//! ```
//! use holoscale_estimator::data::BurnBatches;
//! # use holoscale_datasets::{Telemetry, tensor::{Split, SplitSpec, WindowOptions, WindowSpec, Windowed}};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let values = ndarray::Array3::from_shape_fn((40, 2, 1), |(t, n, _)| (t + n) as f64);
//! # let tel = Telemetry::try_new("mem", 0, 30_000, vec!["a".into(), "b".into()],
//! #     vec!["replicas".into()], values)?;
//! let data = Windowed::new(&tel, &["replicas"], "replicas", WindowSpec::try_new(5, 1, 1)?,
//!     SplitSpec::default(), WindowOptions::default())?;
//! for starts in data.batches(Split::Train, 8, Some(7)) {
//!     let batch = data.batch::<holoscale_estimator::backend::Cpu>(&starts, &Default::default());
//!     assert_eq!(batch.inputs.dims()[1..], [5, 2, 1]); // [B, τ, N, F]
//! }
//! # Ok(()) }
//! ```

use burn::tensor::{Tensor, TensorData, backend::Backend};
use ndarray::{Array3, Array4};

use holoscale_datasets::tensor::{ArrayBatch, Windowed};

/// A batch as burn tensors.
#[derive(Debug, Clone)]
pub struct Batch<B: Backend> {
    /// `[B, τ, N, F]`, normalised.
    pub inputs: Tensor<B, 4>,
    /// `[B, H, N]`, normalised target.
    pub targets: Tensor<B, 3>,
    /// Timestamp of the first target step of each window, ms.
    pub target_times: Vec<i64>,
}

/// Moves an array batch into burn tensors.
pub fn to_burn<B: Backend>(batch: &ArrayBatch, device: &B::Device) -> Batch<B> {
    Batch {
        inputs: array4_to_tensor(&batch.inputs, device),
        targets: array3_to_tensor(&batch.targets, device),
        target_times: batch.target_times.clone(),
    }
}

/// Burn batches of the windows of a [`Windowed`].
pub trait BurnBatches {
    /// The windows starting at `starts` as burn tensors on `device`.
    fn batch<B: Backend>(&self, starts: &[usize], device: &B::Device) -> Batch<B>;
}

impl BurnBatches for Windowed {
    fn batch<B: Backend>(&self, starts: &[usize], device: &B::Device) -> Batch<B> {
        to_burn(&self.arrays(starts), device)
    }
}

/// A 4-d array as a burn tensor (same shape, row-major).
pub fn array4_to_tensor<B: Backend>(a: &Array4<f32>, device: &B::Device) -> Tensor<B, 4> {
    let shape = a.shape().to_vec();
    let data: Vec<f32> = a.as_standard_layout().iter().copied().collect();
    Tensor::from_data(TensorData::new(data, shape), device)
}

/// A 3-d array as a burn tensor (same shape, row-major).
pub fn array3_to_tensor<B: Backend>(a: &Array3<f32>, device: &B::Device) -> Tensor<B, 3> {
    let shape = a.shape().to_vec();
    let data: Vec<f32> = a.as_standard_layout().iter().copied().collect();
    Tensor::from_data(TensorData::new(data, shape), device)
}

#[cfg(test)]
mod tests {
    use super::*;
    use holoscale_datasets::Telemetry;
    use holoscale_datasets::tensor::{Split, SplitSpec, WindowOptions, WindowSpec};

    #[test]
    fn batches_become_burn_tensors() {
        type B = crate::backend::Cpu;
        let v = Array3::from_shape_fn((30, 3, 2), |(t, n, c)| {
            (t as f64) * (c as f64 + 1.0) + n as f64
        });
        let tel = Telemetry::try_new(
            "mem",
            0,
            30_000,
            (0..3).map(|i| format!("s{i}")).collect(),
            vec!["replicas".into(), "req_rate".into()],
            v,
        )
        .unwrap();
        let spec = WindowSpec::try_new(5, 2, 1).unwrap();
        let w = Windowed::new(
            &tel,
            &["replicas", "req_rate"],
            "req_rate",
            spec,
            SplitSpec::default(),
            WindowOptions::default(),
        )
        .unwrap();
        let batches = w.batches(Split::Train, 4, Some(7));
        assert_eq!(
            batches,
            w.batches(Split::Train, 4, Some(7)),
            "same seed, same order"
        );
        let b: Batch<B> = w.batch(&batches[0], &Default::default());
        assert_eq!(b.inputs.dims(), [4, 5, 3, 2]);
        assert_eq!(b.targets.dims(), [4, 2, 3]);
        let arr = w.arrays(&batches[0]);
        let back: Vec<f32> = b.inputs.into_data().to_vec().unwrap();
        assert_eq!(back, arr.inputs.iter().copied().collect::<Vec<_>>());
    }
}
