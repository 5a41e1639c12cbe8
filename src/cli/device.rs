//! `--device`: the burn backend a command runs on.

use clap::ValueEnum;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum DeviceArg {
    /// The CPU with holoscale's default CPU backend (burn's Flex).
    #[default]
    Cpu,
    /// The CPU with burn's NdArray backend (holoscale's CPU backend up to 0.1).
    CpuNdarray,
    /// The CPU with burn's Candle backend (build with --features candle).
    CpuCandle,
    /// burn-cuda on an NVIDIA GPU (build with --features cuda).
    Cuda,
}

impl DeviceArg {
    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            DeviceArg::Cpu => "cpu",
            DeviceArg::CpuNdarray => "cpu-ndarray",
            DeviceArg::CpuCandle => "cpu-candle",
            DeviceArg::Cuda => "cuda",
        }
    }
}

/// Runs `$body` with `$B` the autodiff backend of the chosen device.
macro_rules! on_device {
    ($device:expr, |$B:ident, $dev:ident| $body:expr) => {
        match $device {
            $crate::cli::device::DeviceArg::Cpu => {
                type $B = holoscale::estimator::backend::CpuAutodiff;
                let $dev = holoscale::estimator::backend::CpuDevice::default();
                $body
            }
            $crate::cli::device::DeviceArg::CpuNdarray => {
                type $B = burn::backend::Autodiff<burn::backend::NdArray>;
                let $dev = burn::backend::ndarray::NdArrayDevice::default();
                $body
            }
            #[cfg(feature = "candle")]
            $crate::cli::device::DeviceArg::CpuCandle => {
                // burn 0.21 marks its Candle backend deprecated; it stays selectable for
                // the backend comparison (BENCHMARKS.md, "CPU backends").
                #[allow(deprecated)]
                type $B = burn::backend::Autodiff<burn::backend::Candle>;
                #[allow(deprecated)]
                let $dev = burn::backend::candle::CandleDevice::default();
                $body
            }
            #[cfg(not(feature = "candle"))]
            $crate::cli::device::DeviceArg::CpuCandle => {
                anyhow::bail!("this holoscale was built without the Candle backend; rebuild with `cargo build --release --features candle`")
            }
            #[cfg(feature = "cuda")]
            $crate::cli::device::DeviceArg::Cuda => {
                type $B = burn::backend::Autodiff<burn::backend::Cuda>;
                let $dev = burn::backend::cuda::CudaDevice::default();
                $body
            }
            #[cfg(not(feature = "cuda"))]
            $crate::cli::device::DeviceArg::Cuda => {
                anyhow::bail!("this holoscale was built without CUDA; rebuild with `cargo build --release --features cuda`")
            }
        }
    };
}
pub(crate) use on_device;
