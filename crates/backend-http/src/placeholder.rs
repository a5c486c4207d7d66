//! Placeholders in request templates: `{name}` in a path, a query or form value, or a string of
//! a JSON body is replaced by the variable's value (`{{` and `}}` are literal braces). Variables
//! are the configured `server_id` and `vars`, and for a boot request `boot_device`, `persistent`
//! and `efi`. Templates are checked when the configuration is loaded, so that an unknown name is
//! a configuration error, never a request sent with a hole in it.

use std::collections::BTreeMap;

/// A variable's value. Booleans stay booleans where a JSON string is one placeholder alone
/// (`json = { persistent = "{persistent}" }` sends `true`, not `"true"`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// Text.
    Text(String),
    /// A truth value (`true`/`false` in text).
    Bool(bool),
}

impl Value {
    fn text(&self) -> String {
        match self {
            Value::Text(s) => s.clone(),
            Value::Bool(b) => b.to_string(),
        }
    }
}

/// The variables of one request.
pub type Vars = BTreeMap<String, Value>;

/// The names only boot requests know.
pub const BOOT_VARS: [&str; 3] = ["boot_device", "persistent", "efi"];

/// The names only virtual media requests know: the image URL, and the machine's script URL on
/// the shim's iPXE endpoint (empty where no endpoint is configured).
pub const MEDIA_VARS: [&str; 2] = ["image_url", "ipxe_url"];

#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    Literal(String),
    Var(String),
}

/// A text with placeholders, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Text(Vec<Piece>);

impl Text {
    /// Parses `s`; an unclosed `{`, a stray `}` or a bad name is an error.
    pub fn parse(s: &str) -> Result<Text, String> {
        let mut pieces = Vec::new();
        let mut lit = String::new();
        let mut chars = s.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    lit.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    lit.push('}');
                }
                '{' => {
                    let mut name = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some(c) if c.is_ascii_alphanumeric() || c == '_' => name.push(c),
                            Some(c) => {
                                return Err(format!(
                                    "bad character {c:?} in a placeholder of {s:?} (names are letters, digits and _; write {{{{ for a literal brace)"
                                ))
                            }
                            None => return Err(format!("unclosed {{ in {s:?}")),
                        }
                    }
                    if name.is_empty() {
                        return Err(format!("empty placeholder {{}} in {s:?}"));
                    }
                    if !lit.is_empty() {
                        pieces.push(Piece::Literal(std::mem::take(&mut lit)));
                    }
                    pieces.push(Piece::Var(name));
                }
                '}' => {
                    return Err(format!(
                        "stray }} in {s:?} (write }}}} for a literal brace)"
                    ))
                }
                c => lit.push(c),
            }
        }
        if !lit.is_empty() {
            pieces.push(Piece::Literal(lit));
        }
        Ok(Text(pieces))
    }

    /// The placeholder names it uses.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().filter_map(|p| match p {
            Piece::Var(n) => Some(n.as_str()),
            Piece::Literal(_) => None,
        })
    }

    /// The text with every placeholder replaced by `escape` of its value; a name not in
    /// `vars` (which the configuration check rules out) expands to nothing.
    pub fn expand(&self, vars: &Vars, escape: impl Fn(&str) -> String) -> String {
        self.0
            .iter()
            .map(|p| match p {
                Piece::Literal(s) => s.clone(),
                Piece::Var(n) => vars.get(n).map(|v| escape(&v.text())).unwrap_or_default(),
            })
            .collect()
    }

    /// The text expanded as a JSON value: a boolean variable standing alone stays a boolean.
    pub fn expand_json(&self, vars: &Vars) -> serde_json::Value {
        if let [Piece::Var(n)] = self.0.as_slice() {
            if let Some(Value::Bool(b)) = vars.get(n) {
                return serde_json::Value::Bool(*b);
            }
        }
        serde_json::Value::String(self.expand(vars, str::to_string))
    }
}

/// A JSON body template: TOML values, with placeholders in every string.
#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    /// A string with placeholders.
    Text(Text),
    /// Any other scalar, as it is.
    Scalar(serde_json::Value),
    /// An array.
    Array(Vec<Json>),
    /// An object (keys as written).
    Object(Vec<(String, Json)>),
}

impl Json {
    /// The template of a TOML value.
    pub fn from_toml(v: &toml::Value) -> Result<Json, String> {
        Ok(match v {
            toml::Value::String(s) => Json::Text(Text::parse(s)?),
            toml::Value::Integer(i) => Json::Scalar((*i).into()),
            toml::Value::Float(f) => Json::Scalar(
                serde_json::Number::from_f64(*f)
                    .map(serde_json::Value::Number)
                    .ok_or("a JSON body cannot hold NaN or infinity")?,
            ),
            toml::Value::Boolean(b) => Json::Scalar((*b).into()),
            toml::Value::Datetime(d) => Json::Scalar(d.to_string().into()),
            toml::Value::Array(a) => {
                Json::Array(a.iter().map(Json::from_toml).collect::<Result<_, _>>()?)
            }
            toml::Value::Table(t) => Json::Object(
                t.iter()
                    .map(|(k, v)| Ok((k.clone(), Json::from_toml(v)?)))
                    .collect::<Result<_, String>>()?,
            ),
        })
    }

    /// The placeholder names it uses.
    pub fn names(&self) -> Vec<&str> {
        match self {
            Json::Text(t) => t.names().collect(),
            Json::Scalar(_) => Vec::new(),
            Json::Array(a) => a.iter().flat_map(Json::names).collect(),
            Json::Object(o) => o.iter().flat_map(|(_, v)| v.names()).collect(),
        }
    }

    /// The body with the placeholders replaced.
    pub fn expand(&self, vars: &Vars) -> serde_json::Value {
        match self {
            Json::Text(t) => t.expand_json(vars),
            Json::Scalar(v) => v.clone(),
            Json::Array(a) => a.iter().map(|j| j.expand(vars)).collect(),
            Json::Object(o) => serde_json::Value::Object(
                o.iter().map(|(k, v)| (k.clone(), v.expand(vars))).collect(),
            ),
        }
    }
}

pub use http_support::paths::path_segment;

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Vars {
        Vars::from([
            ("server_id".into(), Value::Text("sv 1/2".into())),
            ("persistent".into(), Value::Bool(true)),
        ])
    }

    #[test]
    fn placeholders_expand_and_braces_escape() {
        let t = Text::parse("/servers/{server_id}/actions{{x}}").unwrap();
        assert_eq!(t.names().collect::<Vec<_>>(), ["server_id"]);
        assert_eq!(
            t.expand(&vars(), path_segment),
            "/servers/sv%201%2F2/actions{x}"
        );
        for bad in ["{", "{a", "}", "{a-b}", "{}"] {
            assert!(Text::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_lone_boolean_placeholder_stays_a_boolean_in_json() {
        let v: toml::Value = toml::from_str(
            "a = \"{persistent}\"\nb = \"p={persistent}\"\nc = [1, \"{server_id}\"]",
        )
        .unwrap();
        let j = Json::from_toml(&v).unwrap();
        assert_eq!(j.names(), ["persistent", "persistent", "server_id"]);
        assert_eq!(
            j.expand(&vars()),
            serde_json::json!({"a": true, "b": "p=true", "c": [1, "sv 1/2"]})
        );
    }
}
