//! The coordinator, hosted by rank 0: a burn-communication WebSocket server with one route.
//! It admits `world_size` ranks (checking world size, rank range, duplicates and the
//! configuration fingerprint), then runs rounds: when every rank has sent its part of round
//! `t`, every rank receives all parts in rank order. A rank whose connection drops before it
//! said goodbye fails the group: every other rank is told which one, at once.

use crate::wire::{FromHub, Op, ToHub, decode, encode, from_bytes, to_bytes};
use burn_communication::ProtocolServer;
use burn_communication::websocket::{WsServer, WsServerChannel};
use bytes::Bytes;
use serde_bytes::ByteBuf;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};

/// The route every rank connects to.
pub const ROUTE: &str = "xrisk-collective";

struct State {
    world_size: usize,
    fingerprint: Option<u64>,
    peers: Vec<Option<UnboundedSender<Bytes>>>,
    joined: usize,
    welcomed: bool,
    round: u64,
    parts: Vec<Option<ByteBuf>>,
    op: Option<Op>,
    done: Vec<bool>,
    failed: bool,
}

/// The coordinator's shared state.
#[derive(Clone)]
pub struct Hub {
    state: Arc<Mutex<State>>,
    all_done: Arc<tokio::sync::Notify>,
}

impl Hub {
    /// A coordinator for `world_size` ranks.
    pub fn new(world_size: usize) -> Hub {
        Hub {
            state: Arc::new(Mutex::new(State {
                world_size,
                fingerprint: None,
                peers: vec![None; world_size],
                joined: 0,
                welcomed: false,
                round: 0,
                parts: vec![None; world_size],
                op: None,
                done: vec![false; world_size],
                failed: false,
            })),
            all_done: Arc::new(tokio::sync::Notify::new()),
        }
    }

    /// The server, ready to `serve_on` a bound listener.
    pub fn server(&self, port: u16) -> WsServer {
        let hub = self.clone();
        WsServer::new(port).route(ROUTE, move |channel| {
            let hub = hub.clone();
            async move { hub.handle(channel).await }
        })
    }

    /// Resolves once every rank has said goodbye (or the group failed).
    pub async fn finished(&self) {
        loop {
            let notified = self.all_done.notified();
            if let Ok(s) = self.state.lock()
                && (s.failed || s.done.iter().all(|&d| d))
            {
                return;
            }
            notified.await;
        }
    }

    fn fail_all(s: &mut State, message: String) {
        s.failed = true;
        let m = encode(&FromHub::Failed { message });
        for p in s.peers.iter().flatten() {
            let _ = p.send(m.clone());
        }
    }

    async fn handle(self, channel: WsServerChannel) {
        let (mut sink, mut stream) = channel.split();
        let (tx, mut rx) = unbounded_channel::<Bytes>();
        let writer = tokio::spawn(async move {
            while let Some(b) = rx.recv().await {
                if sink
                    .send(burn_communication::Message::new(b))
                    .await
                    .is_err()
                {
                    break;
                }
            }
            let _ = sink.close().await;
        });
        let mut rank: Option<usize> = None;
        loop {
            let msg = match stream.recv().await {
                Ok(Some(m)) => m,
                _ => break,
            };
            let parsed = decode::<ToHub>(&msg.data);
            let Ok(mut s) = self.state.lock() else { break };
            match (parsed, rank) {
                (
                    Ok(ToHub::Hello {
                        rank: r,
                        world_size,
                        fingerprint,
                    }),
                    None,
                ) => {
                    let (r, w) = (r as usize, world_size as usize);
                    let refuse = if w != s.world_size {
                        Some(format!(
                            "rank {r} was started with world size {w}, the coordinator (rank 0) with {}; start every process with the same --world-size",
                            s.world_size
                        ))
                    } else if r >= w {
                        Some(format!("rank {r} is outside a world of {w} processes"))
                    } else if s.peers[r].is_some() {
                        Some(format!(
                            "two processes were started as rank {r}; give each process its own --rank"
                        ))
                    } else if s.fingerprint.is_some_and(|f| f != fingerprint) {
                        Some(format!(
                            "rank {r} runs a different training configuration from the ranks already joined; start every process with the same config file"
                        ))
                    } else {
                        None
                    };
                    if let Some(message) = refuse {
                        let _ = tx.send(encode(&FromHub::Failed {
                            message: message.clone(),
                        }));
                        // A wrong world size or configuration dooms the group.
                        Self::fail_all(&mut s, message);
                        break;
                    }
                    s.fingerprint = Some(fingerprint);
                    s.peers[r] = Some(tx.clone());
                    s.joined += 1;
                    rank = Some(r);
                    if s.joined == s.world_size {
                        s.welcomed = true;
                        let m = encode(&FromHub::Welcome);
                        for p in s.peers.iter().flatten() {
                            let _ = p.send(m.clone());
                        }
                    }
                }
                (Ok(ToHub::Part { round, op, data }), Some(r)) => {
                    if round != s.round || s.parts[r].is_some() || s.op.is_some_and(|o| o != op) {
                        let message = format!(
                            "rank {r} sent round {round} ({op:?}) while the group is at round {} ({:?}); every process must run the same steps",
                            s.round, s.op
                        );
                        Self::fail_all(&mut s, message);
                        break;
                    }
                    s.parts[r] = Some(data);
                    s.op = Some(op);
                    if s.parts.iter().all(Option::is_some) {
                        let parts: Vec<ByteBuf> = s
                            .parts
                            .iter_mut()
                            .map(|p| p.take().unwrap_or_default())
                            .collect();
                        s.op = None;
                        let parts = match op {
                            Op::Gather => parts,
                            Op::Sum => match sum(&parts) {
                                Ok(total) => vec![total],
                                Err(message) => {
                                    Self::fail_all(&mut s, message);
                                    break;
                                }
                            },
                        };
                        let m = encode(&FromHub::Result { round, parts });
                        s.round += 1;
                        for p in s.peers.iter().flatten() {
                            let _ = p.send(m.clone());
                        }
                    }
                }
                (Ok(ToHub::Bye), Some(r)) => {
                    s.done[r] = true;
                    if s.done.iter().all(|&d| d) {
                        self.all_done.notify_waiters();
                    }
                }
                (Ok(other), _) => {
                    let _ = tx.send(encode(&FromHub::Failed {
                        message: format!("unexpected message {other:?}"),
                    }));
                    break;
                }
                (Err(e), _) => {
                    let _ = tx.send(encode(&FromHub::Failed { message: e }));
                    break;
                }
            }
        }
        // The connection ended.
        if let Ok(mut s) = self.state.lock() {
            if let Some(r) = rank {
                s.peers[r] = None;
                if !s.done[r] && !s.failed {
                    let message = format!(
                        "rank {r} disconnected before the end of training (its process exited or the network dropped)"
                    );
                    Self::fail_all(&mut s, message);
                }
            }
            if s.failed {
                self.all_done.notify_waiters();
            }
        }
        drop(tx);
        let _ = writer.await;
    }
}

/// The element-wise sum of little-endian f32 buffers, added in rank order.
fn sum(parts: &[ByteBuf]) -> Result<ByteBuf, String> {
    let mut total = from_bytes(&parts[0]);
    for (r, p) in parts.iter().enumerate().skip(1) {
        let v = from_bytes(p);
        if v.len() != total.len() {
            return Err(format!(
                "rank {r} sent {} values to sum where rank 0 sent {}; every process must run the same model",
                v.len(),
                total.len()
            ));
        }
        for (t, x) in total.iter_mut().zip(v) {
            *t += x;
        }
    }
    Ok(to_bytes(&total))
}
