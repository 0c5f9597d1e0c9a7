//! The `petition.v1` contract, generated from `proto/petition/v1/*.proto`.
//!
//! Messages and client stubs are always built; server stubs only with the
//! `server` feature.

#![allow(clippy::all, missing_docs)]

/// Package `petition.v1`.
pub mod v1 {
    tonic::include_proto!("petition.v1");
}

/// The encoded `FileDescriptorSet` of every petition proto, for gRPC
/// reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/petition_descriptor.bin"));
