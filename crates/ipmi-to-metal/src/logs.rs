//! The program's logs on standard error, at the levels `IPMI_TO_METAL_LOG` gives (default
//! `info`): lines for people (coloured on a terminal), or with `--log-format json`
//! (`IPMI_TO_METAL_LOG_FORMAT=json`) one JSON object per line for a log collector:
//!
//! ```json
//! {"time":"2026-11-26T04:16:16.944Z","level":"INFO","target":"ipmi_bmc::handlers::chassis",
//!  "message":"power action requested","action":"off","who":"user=\"admin\" from ...",
//!  "spans":{"bmc":{"name":"node1","backend":"sim"},"request":{"peer":"...","user":"admin"}}}
//! ```
//!
//! The event's fields sit beside the time, level and target; each span's fields are under its
//! name in `spans` (tracing-subscriber's own JSON format puts a span's name and its fields in
//! one object, where the `bmc` span's `name` field and the span's name would collide).
//!
//! **Escaping**: values from the network or an upstream API are logged with `?` (quoted and
//! escaped) at their call sites. The text format also escapes every control character of every
//! message and field value ([`escape_into`]), whatever its call site says: a user name
//! `x\nFORGED: ok` in a RAKP 1 or an ANSI escape in a Redfish error message cannot start a
//! line of its own or move the cursor, even where a call site (of this project or of a library)
//! formats with `%`. The JSON format escapes them by being JSON.

use std::cell::RefCell;
use std::fmt;
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::{JsonFields, Writer};
use tracing_subscriber::fmt::time::FormatTime;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

/// Starts the logs in `format`.
pub fn init(format: crate::cli::LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("IPMI_TO_METAL_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_timer(UtcMicros)
        .with_writer(std::io::stderr);
    match format {
        crate::cli::LogFormat::Text => logs
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .fmt_fields(escaped_fields())
            .init(),
        crate::cli::LogFormat::Json => logs
            .fmt_fields(JsonFields::new())
            .event_format(JsonLines)
            .init(),
    }
}

/// The text format's fields: `name=value` separated by spaces, the message first and bare, as
/// tracing-subscriber's default, with every control character escaped ([`escape_into`]).
pub fn escaped_fields() -> impl for<'w> FormatFields<'w> + 'static {
    use tracing_subscriber::field::MakeExt;
    tracing_subscriber::fmt::format::debug_fn(|w, field, value| {
        if field.name() != "message" {
            write!(w, "{field}=")?;
        }
        // Escaped as it is written, not formatted into a String first and then written a
        // character at a time: that was a fifth of the cost of a session's two lines.
        fmt::Write::write_fmt(&mut Escaping(w), format_args!("{value:?}"))
    })
    .delimited(" ")
}

/// Writes what it is given on to the writer it holds, escaped as [`escape_into`] writes it.
struct Escaping<'a, W: ?Sized>(&'a mut W);

impl<W: fmt::Write + ?Sized> fmt::Write for Escaping<'_, W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        escape_into(self.0, s)
    }
}

/// Writes `s` to `w` with its control characters (newline, carriage return, escape...) written
/// as Rust escapes (`\n`, `\r`, `\u{1b}`), so that a line stays one line and cannot drive a
/// terminal; the runs between them are written whole.
fn escape_into<W: fmt::Write + ?Sized>(w: &mut W, s: &str) -> fmt::Result {
    let mut start = 0;
    for (i, c) in s.char_indices() {
        if c.is_control() {
            w.write_str(&s[start..i])?;
            write!(w, "{}", c.escape_default())?;
            start = i + c.len_utf8();
        }
    }
    w.write_str(&s[start..])
}

/// The time of a text line as tracing-subscriber's own timer writes it
/// (`2026-12-07T08:42:43.123456Z`), with the date and time of day formatted once a second per
/// thread: formatting them for every line was a fifth of the cost of a session's "session
/// opened" and "session closed" lines.
pub struct UtcMicros;

thread_local! {
    /// The second last formatted on this thread, and its text up to the seconds.
    static SECOND: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
}

impl UtcMicros {
    /// `t` in the format of the text lines.
    fn write(t: std::time::SystemTime, w: &mut impl fmt::Write) -> fmt::Result {
        let d = t.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        let secs = d.as_secs();
        SECOND.with_borrow_mut(|(second, text)| {
            if *second != secs {
                // `utc` writes milliseconds: its first 19 characters are the second.
                let full = crate::console_log::utc(
                    std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs),
                );
                text.clear();
                text.push_str(&full[..19]);
                *second = secs;
            }
            w.write_str(text)
        })?;
        let micros = d.subsec_micros();
        let mut digits = [b'0'; 6];
        let mut m = micros;
        for b in digits.iter_mut().rev() {
            *b = b'0' + (m % 10) as u8;
            m /= 10;
        }
        w.write_char('.')?;
        w.write_str(std::str::from_utf8(&digits).unwrap_or("000000"))?;
        w.write_char('Z')
    }
}

impl FormatTime for UtcMicros {
    fn format_time(&self, w: &mut Writer<'_>) -> fmt::Result {
        UtcMicros::write(std::time::SystemTime::now(), w)
    }
}

/// One JSON object per event (see the module's documentation).
pub struct JsonLines;

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        // The fields formatter is JsonFields: the event's fields come out as a JSON object.
        let mut fields = String::new();
        ctx.format_fields(Writer::new(&mut fields), event)?;
        let mut obj: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&fields).unwrap_or_default();
        let meta = event.metadata();
        obj.insert(
            "time".into(),
            crate::console_log::utc(std::time::SystemTime::now()).into(),
        );
        obj.insert("level".into(), meta.level().as_str().into());
        obj.insert("target".into(), meta.target().into());
        let mut spans = serde_json::Map::new();
        for span in ctx.event_scope().into_iter().flat_map(|s| s.from_root()) {
            let ext = span.extensions();
            let fields = ext
                .get::<FormattedFields<N>>()
                .and_then(|f| serde_json::from_str::<serde_json::Value>(f).ok())
                .unwrap_or_else(|| serde_json::json!({}));
            spans.insert(span.name().into(), fields);
        }
        if !spans.is_empty() {
            obj.insert("spans".into(), spans.into());
        }
        writeln!(writer, "{}", serde_json::Value::Object(obj))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::captured_log::Captured;

    /// Issue 19, defect 9: a value with a newline or an ANSI escape, logged with `%` (the
    /// mistake the call sites must not make), stays on its line in the text format.
    #[test]
    fn text_lines_escape_control_characters_whatever_the_call_site() {
        let out = Captured::default();
        let writer = out.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .fmt_fields(escaped_fields())
            .finish();
        let name = "x\nFORGED: ok\u{1b}[2J";
        tracing::subscriber::with_default(subscriber, || {
            let _s = tracing::info_span!("request", user = %name).entered();
            tracing::warn!(user = %name, n = 3, "login failed: {name}");
        });
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(!text.contains('\u{1b}'), "{text}");
        assert!(
            text.contains("login failed: x\\nFORGED: ok\\u{1b}[2J")
                && text.contains("user=x\\nFORGED")
                && text.contains(" n=3"),
            "{text}"
        );
    }

    #[test]
    fn text_times_are_utc_with_microseconds() {
        use std::time::{Duration, UNIX_EPOCH};
        // Expected values from Python's datetime, an independent implementation.
        for (secs, micros, want) in [
            (0, 0, "1970-01-01T00:00:00.000000Z"),
            (1_764_000_000, 7, "2025-11-24T16:00:00.000007Z"),
            (1_796_720_563, 999_999, "2026-12-08T09:02:43.999999Z"),
            (951_782_400, 120_000, "2000-02-29T00:00:00.120000Z"),
            (1_796_720_563, 1, "2026-12-08T09:02:43.000001Z"),
        ] {
            let mut ours = String::new();
            let t = UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_micros(micros);
            UtcMicros::write(t, &mut ours).unwrap();
            assert_eq!(ours, want);
        }
    }

    #[test]
    fn text_times_read_as_tracing_subscribers_own() {
        // The time of a line from tracing-subscriber's own timer, before and after ours: the
        // same format, so ours sorts between them.
        let theirs = || {
            let out = Captured::default();
            let writer = out.clone();
            let subscriber = tracing_subscriber::fmt()
                .with_writer(move || writer.clone())
                .with_ansi(false)
                .finish();
            tracing::subscriber::with_default(subscriber, || tracing::info!("x"));
            let line = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
            line[..27].to_string()
        };
        let before = theirs();
        let mut ours = String::new();
        UtcMicros::write(std::time::SystemTime::now(), &mut ours).unwrap();
        let after = theirs();
        assert!(before <= ours && ours <= after, "{before} {ours} {after}");
        assert_eq!(before.len(), ours.len());
    }

    #[test]
    fn one_object_per_line_with_the_spans_by_name() {
        let out = Captured::default();
        let writer = out.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .fmt_fields(JsonFields::new())
            .event_format(JsonLines)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let bmc = tracing::info_span!("bmc", name = "node1", backend = tracing::field::Empty);
            bmc.record("backend", "sim");
            let _b = bmc.enter();
            let _r = tracing::info_span!("request", user = "admin").entered();
            tracing::warn!(action = "off", n = 3, "power \"action\"\nrequested");
        });
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        assert_eq!(text.lines().count(), 1, "{text}");
        let v: serde_json::Value = serde_json::from_str(text.trim_end()).unwrap();
        assert_eq!(v["level"], "WARN");
        assert_eq!(v["message"], "power \"action\"\nrequested");
        assert_eq!(
            (v["action"].as_str(), v["n"].as_u64()),
            (Some("off"), Some(3))
        );
        assert_eq!(
            v["spans"],
            serde_json::json!({ "bmc": { "name": "node1", "backend": "sim" },
                                "request": { "user": "admin" } })
        );
        assert!(v["time"].as_str().unwrap().ends_with('Z'));
    }
}
