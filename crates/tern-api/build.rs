//! Compiles proto/tern.proto with protox (a Rust implementation of protoc: no protoc binary
//! is needed to build tern) and generates the tonic client and server.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto/tern.proto");
    let fds = protox::compile(["tern.proto"], ["proto"])?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(fds)?;
    Ok(())
}
