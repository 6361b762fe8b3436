//! [`Event`]: one discrete happening, small enough to queue by value.
#![forbid(unsafe_code)]

use std::fmt;
use std::time::Duration;

/// How a query ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum QueryOutcome {
    /// It returned its result.
    Ok,
    /// It failed.
    Error,
    /// It was cancelled or timed out.
    Cancelled,
}

impl QueryOutcome {
    /// The outcome as exported (`ok`, `error`, `cancelled`).
    pub fn as_str(self) -> &'static str {
        match self {
            QueryOutcome::Ok => "ok",
            QueryOutcome::Error => "error",
            QueryOutcome::Cancelled => "cancelled",
        }
    }
}

/// One executed query: how long it took, how many rows, how it ended.
///
/// ```
/// use hotmetrics::telemetry::{Event, QueryEvent, QueryOutcome};
/// use std::time::Duration;
///
/// let e = Event::query_executed(QueryEvent {
///     session: 7,
///     latency: Duration::from_micros(1_250),
///     rows: 12,
///     outcome: QueryOutcome::Ok,
/// });
/// assert_eq!(e.name(), "query_executed");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueryEvent {
    /// The session that ran the query.
    pub session: u64,
    /// Wall time of the execution.
    pub latency: Duration,
    /// Rows returned or affected.
    pub rows: u64,
    /// How it ended.
    pub outcome: QueryOutcome,
}

/// An attribute value of a user-defined event.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// An unsigned integer.
    U64(u64),
    /// A signed integer.
    I64(i64),
    /// A float (`NaN` and infinities are exported as `null`).
    F64(f64),
    /// A boolean.
    Bool(bool),
    /// A static string: no allocation.
    Str(&'static str),
    /// An owned string (the caller allocated it).
    String(Box<str>),
}

impl From<u64> for Value {
    fn from(v: u64) -> Value {
        Value::U64(v)
    }
}
impl From<i64> for Value {
    fn from(v: i64) -> Value {
        Value::I64(v)
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Value {
        Value::F64(v)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Value {
        Value::Bool(v)
    }
}
impl From<&'static str> for Value {
    fn from(v: &'static str) -> Value {
        Value::Str(v)
    }
}
impl From<String> for Value {
    fn from(v: String) -> Value {
        Value::String(v.into_boxed_str())
    }
}

/// What happened, by kind.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Kind {
    SessionOpened {
        session: u64,
    },
    SessionClosed {
        session: u64,
    },
    /// `QueryEvent` with the latency as nanoseconds (saturating), so the
    /// event fits 48 bytes (a `Duration` takes 16).
    QueryExecuted {
        session: u64,
        latency_ns: u64,
        rows: u64,
        outcome: QueryOutcome,
    },
    /// A user-defined event; `attrs` is empty (no allocation) or a boxed
    /// slice the caller built.
    Custom {
        name: &'static str,
        attrs: Box<[(&'static str, Value)]>,
    },
}

/// One telemetry event, queued by value.
///
/// 48 bytes on 64-bit targets (a test checks it). The typed events (sessions, queries) and a
/// custom event without attributes allocate nothing; a custom event with
/// attributes owns one boxed slice (and any `Value::String` it holds),
/// allocated by the caller when building it. Nothing else allocates: the
/// queue stores events inline, and an event dropped because the queue is
/// full is freed, not copied.
///
/// ```
/// use hotmetrics::telemetry::Event;
///
/// let plain = Event::custom("cache_cleared");
/// let rich = Event::with_attrs("retry", [("attempt", 3u64.into()), ("backend", "eu".into())]);
/// assert_eq!(rich.name(), "retry");
/// assert_eq!(plain.attrs().len(), 0);
/// assert_eq!(rich.attrs().len(), 2);
/// ```
#[derive(Clone, PartialEq)]
pub struct Event {
    pub(crate) kind: Kind,
    /// Raw clock reading at emission (set by the client; 0 until then).
    pub(crate) at: u64,
}

impl Event {
    /// A session was opened.
    pub fn session_opened(session: u64) -> Event {
        Event::of(Kind::SessionOpened { session })
    }

    /// A session was closed.
    pub fn session_closed(session: u64) -> Event {
        Event::of(Kind::SessionClosed { session })
    }

    /// A query ran.
    pub fn query_executed(query: QueryEvent) -> Event {
        Event::of(Kind::QueryExecuted {
            session: query.session,
            latency_ns: u64::try_from(query.latency.as_nanos()).unwrap_or(u64::MAX),
            rows: query.rows,
            outcome: query.outcome,
        })
    }

    /// A user-defined event without attributes (allocates nothing).
    pub fn custom(name: &'static str) -> Event {
        Event::of(Kind::Custom {
            name,
            attrs: Box::default(),
        })
    }

    /// A user-defined event with attributes (allocates one slice).
    pub fn with_attrs<const N: usize>(
        name: &'static str,
        attrs: [(&'static str, Value); N],
    ) -> Event {
        Event::of(Kind::Custom {
            name,
            attrs: Box::new(attrs),
        })
    }

    fn of(kind: Kind) -> Event {
        Event { kind, at: 0 }
    }

    /// The event's name: `session_opened`, `session_closed`,
    /// `query_executed`, or the custom name.
    pub fn name(&self) -> &'static str {
        match &self.kind {
            Kind::SessionOpened { .. } => "session_opened",
            Kind::SessionClosed { .. } => "session_closed",
            Kind::QueryExecuted { .. } => "query_executed",
            Kind::Custom { name, .. } => name,
        }
    }

    /// A custom event's attributes (empty for the typed events).
    pub fn attrs(&self) -> &[(&'static str, Value)] {
        match &self.kind {
            Kind::Custom { attrs, .. } => attrs,
            _ => &[],
        }
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("kind", &self.kind)
            .field("at", &self.at)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_stay_small() {
        assert_eq!(
            std::mem::size_of::<Event>(),
            48,
            "{}",
            std::mem::size_of::<Event>()
        );
    }
}
