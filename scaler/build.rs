//! Compiles KEDA's vendored `proto/externalscaler.proto` into the gRPC server and client of
//! `holoscale_scaler::serve`, with the protoc binary of the `protoc-bin-vendored` crate: no
//! system protoc is needed and nothing is downloaded at build time.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    let mut config = prost_build::Config::new();
    config.protoc_executable(protoc);
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .compile_with_config(config, &["proto/externalscaler.proto"], &["proto"])?;
    Ok(())
}
