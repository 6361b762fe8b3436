//! The events of a batch as JSON lines.
#![forbid(unsafe_code)]

use super::event::{Event, Kind, Value};
use super::exporter::Shared;
use std::io::Write;

/// The batch as JSON lines, one object per event:
/// `{"ts":<unix ms>,"event":"<name>",...fields}`.
pub(crate) fn encode_events(shared: &Shared, batch: &[Event], out: &mut Vec<u8>) {
    let mut n = itoa::Buffer::new();
    for e in batch {
        out.extend_from_slice(b"{\"ts\":");
        out.extend_from_slice(n.format(shared.unix_ms_of(e.at)).as_bytes());
        out.extend_from_slice(b",\"event\":");
        json_str(out, e.name());
        let _: std::io::Result<()> = match &e.kind {
            Kind::SessionOpened { session } | Kind::SessionClosed { session } => {
                out.extend_from_slice(b",\"session\":");
                out.extend_from_slice(n.format(*session).as_bytes());
                Ok(())
            }
            Kind::QueryExecuted {
                session,
                latency_ns,
                rows,
                outcome,
            } => {
                // The typed events are most of the traffic: written with
                // `itoa`, not the formatting machinery.
                for (key, v) in [
                    (&b",\"session\":"[..], *session),
                    (b",\"latency_ns\":", *latency_ns),
                    (b",\"rows\":", *rows),
                ] {
                    out.extend_from_slice(key);
                    out.extend_from_slice(n.format(v).as_bytes());
                }
                out.extend_from_slice(b",\"outcome\":\"");
                out.extend_from_slice(outcome.as_str().as_bytes());
                out.push(b'"');
                Ok(())
            }
            Kind::Custom { attrs, .. } => {
                out.extend_from_slice(b",\"attrs\":{");
                for (i, (k, v)) in attrs.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    json_str(out, k);
                    out.push(b':');
                    match v {
                        Value::U64(n) => drop(write!(out, "{n}")),
                        Value::I64(n) => drop(write!(out, "{n}")),
                        Value::F64(x) if x.is_finite() => drop(write!(out, "{x}")),
                        Value::F64(_) => out.extend_from_slice(b"null"),
                        Value::Bool(b) => drop(write!(out, "{b}")),
                        Value::Str(s) => json_str(out, s),
                        Value::String(s) => json_str(out, s),
                    }
                }
                out.push(b'}');
                Ok(())
            }
        };
        out.extend_from_slice(b"}\n");
    }
}

fn json_str(out: &mut Vec<u8>, s: &str) {
    // Most names need no escaping: copied as they are.
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\' && b < 0x7f) {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
        return;
    }
    // serde_json escapes exactly as JSON requires; writing into a Vec
    // cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}
