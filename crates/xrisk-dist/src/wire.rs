//! The messages ranks and the coordinator exchange, MessagePack-encoded (`rmp-serde`) inside
//! burn-communication's binary WebSocket frames. Float payloads travel as little-endian bytes.

use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

/// From a rank to the coordinator.
#[derive(Debug, Serialize, Deserialize)]
pub enum ToHub {
    /// The first message on a connection.
    Hello {
        /// The sender's rank.
        rank: u32,
        /// The world size the sender was started with.
        world_size: u32,
        /// A hash of the sender's training configuration (0: not checked).
        fingerprint: u64,
    },
    /// The sender's values for collective round `round`.
    Part {
        /// Round number, from 0, the same on every rank.
        round: u64,
        /// What the coordinator returns: every part, or their sum.
        op: Op,
        /// f32 values, little-endian.
        data: ByteBuf,
    },
    /// The sender is done; its connection closing next is not a failure.
    Bye,
}

/// The collective operation of a round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    /// Every rank receives every rank's part, in rank order.
    Gather,
    /// Every rank receives the element-wise sum of the parts, added in rank order.
    Sum,
}

/// From the coordinator to a rank.
#[derive(Debug, Serialize, Deserialize)]
pub enum FromHub {
    /// Every rank has joined with the same world size and configuration.
    Welcome,
    /// Every rank's values for `round`, in rank order (one buffer, the sum, for [`Op::Sum`]).
    Result {
        /// Round number.
        round: u64,
        /// One little-endian f32 buffer per rank.
        parts: Vec<ByteBuf>,
    },
    /// The group cannot continue; the message says why.
    Failed {
        /// What went wrong, naming the rank.
        message: String,
    },
}

/// MessagePack bytes of `m`.
pub fn encode<T: Serialize>(m: &T) -> bytes::Bytes {
    // Serialising these plain enums to a Vec cannot fail.
    bytes::Bytes::from(rmp_serde::to_vec(m).unwrap_or_default())
}

/// `m` from MessagePack bytes, or a message saying what arrived.
pub fn decode<T: for<'de> Deserialize<'de>>(b: &[u8]) -> Result<T, String> {
    rmp_serde::from_slice(b).map_err(|e| format!("unreadable message ({} bytes): {e}", b.len()))
}

/// Little-endian bytes of `v`.
pub fn to_bytes(v: &[f32]) -> ByteBuf {
    ByteBuf::from(v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>())
}

/// f32 values from little-endian bytes.
pub fn from_bytes(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip() {
        let m = ToHub::Part {
            round: 7,
            op: Op::Sum,
            data: to_bytes(&[1.5, -2.0]),
        };
        match decode::<ToHub>(&encode(&m)).unwrap() {
            ToHub::Part { round, data, .. } => {
                assert_eq!(round, 7);
                assert_eq!(from_bytes(&data), vec![1.5, -2.0]);
            }
            other => panic!("{other:?}"),
        }
        assert!(
            decode::<FromHub>(b"\xff\x00")
                .unwrap_err()
                .contains("unreadable")
        );
    }
}
