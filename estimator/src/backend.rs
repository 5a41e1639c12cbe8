//! The CPU backends holoscale runs on.
//!
//! Library code is generic over burn's [`Backend`](burn::prelude::Backend); these aliases
//! name the CPU backend that holoscale uses by default ([`Cpu`]: burn's Flex backend, the
//! fastest of the CPU backends measured in BENCHMARKS.md, "CPU backends") and the one it
//! used before ([`NdArrayCpu`]), so callers and tests need not spell out burn's types.

/// The default CPU backend: burn's Flex (pure Rust, `gemm`-based matrix products with
/// strided operands, SIMD element-wise kernels).
pub type Cpu = burn::backend::Flex;

/// The device of [`Cpu`].
pub type CpuDevice = burn::backend::flex::FlexDevice;

/// [`Cpu`] with automatic differentiation, for training.
pub type CpuAutodiff = burn::backend::Autodiff<Cpu>;

/// burn's NdArray backend, holoscale's CPU backend up to version 0.1 (`--device
/// cpu-ndarray`), kept for comparisons.
pub type NdArrayCpu = burn::backend::NdArray;
