//! `--device`: the burn backend a command runs on.

use clap::ValueEnum;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum DeviceArg {
    /// burn's NdArray backend on the CPU.
    #[default]
    Cpu,
    /// burn-cuda on an NVIDIA GPU (build with --features cuda).
    Cuda,
}

impl DeviceArg {
    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            DeviceArg::Cpu => "cpu",
            DeviceArg::Cuda => "cuda",
        }
    }
}

/// Runs `$body` with `$B` the autodiff backend of the chosen device.
macro_rules! on_device {
    ($device:expr, |$B:ident, $dev:ident| $body:expr) => {
        match $device {
            $crate::cli::device::DeviceArg::Cpu => {
                type $B = burn::backend::Autodiff<burn::backend::NdArray>;
                let $dev = burn::backend::ndarray::NdArrayDevice::default();
                $body
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
