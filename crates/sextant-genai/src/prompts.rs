//! Versioned prompt templates shipped in `prompts/<name>@<version>.md`.
//!
//! A template starts with a front-matter header declaring its variables:
//! `---\nvariables: [facts, strategy]\n---\n`, then text using `{{facts}}`. Every output
//! records the [`PromptRef`] (name, version, sha256 of the file) that produced it, and
//! `prompts/LOCK` pins each builtin's hash so editing text without bumping the version fails a
//! test instead of silently changing what a recorded version means.

use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};

/// The builtin templates, by file name.
const BUILTIN: &[(&str, &str)] = &[
    (
        "backtest_narrative@1.md",
        include_str!("../prompts/backtest_narrative@1.md"),
    ),
    (
        "strategy_builder@1.md",
        include_str!("../prompts/strategy_builder@1.md"),
    ),
    (
        "chatops_agent@1.md",
        include_str!("../prompts/chatops_agent@1.md"),
    ),
];

/// Why a prompt could not be loaded, found, rendered or verified.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PromptError {
    /// A template file is malformed: bad file name, front matter or placeholders, or a variable
    /// declared but unused (or used but undeclared).
    #[error("prompt {file}: {message}")]
    Invalid {
        /// The template's file name (or `name@version` when rendering).
        file: String,
        /// What is wrong with it.
        message: String,
    },
    /// No template has this `name@version` id (or the id is not of that form).
    #[error("unknown prompt {0}")]
    Unknown(String),
    /// A render was not given a value for a declared variable.
    #[error("prompt {prompt}: variable {variable} is declared but no value was given")]
    MissingVariable {
        /// The prompt, as `name@version`.
        prompt: String,
        /// The variable without a value.
        variable: String,
    },
    /// A render was given a value for a variable the template does not declare.
    #[error("prompt {prompt}: variable {variable} is not declared")]
    UndeclaredVariable {
        /// The prompt, as `name@version`.
        prompt: String,
        /// The unexpected variable.
        variable: String,
    },
    /// A template's hash is not the one pinned in the LOCK text: its text changed without a new
    /// version, or it is not listed at all.
    #[error("prompt {prompt}: hash {actual} differs from LOCK ({expected}); bump the version")]
    HashMismatch {
        /// The prompt, as `name@version`.
        prompt: String,
        /// The hash in the LOCK text, or `(not in LOCK)`.
        expected: String,
        /// The hex sha256 of the template file.
        actual: String,
    },
}

/// Exactly which template produced an output.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PromptRef {
    /// The template name, the part of the file name before `@`.
    pub name: String,
    /// The template version, the number after `@`; a changed text needs a new version.
    pub version: u32,
    /// Hex sha256 of the whole template file, header included.
    pub sha256: String,
}

impl std::fmt::Display for PromptRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{}", self.name, self.version)
    }
}

/// A parsed template: every declared variable is used in the body and every placeholder is
/// declared.
#[derive(Debug, Clone)]
pub struct Prompt {
    /// Name, version and file hash, for provenance.
    pub reference: PromptRef,
    /// The variables declared in the front matter, in declaration order.
    pub variables: Vec<String>,
    /// The text after the front matter, with `{{name}}` placeholders.
    pub body: String,
}

/// Splits a body into literal text and `{{name}}` placeholders.
fn placeholders(body: &str) -> Result<Vec<(usize, usize, &str)>, String> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(start) = body[from..].find("{{").map(|i| i + from) {
        let end = body[start..]
            .find("}}")
            .map(|i| i + start)
            .ok_or_else(|| format!("unclosed {{{{ at byte {start}"))?;
        out.push((start, end + 2, body[start + 2..end].trim()));
        from = end + 2;
    }
    Ok(out)
}

impl Prompt {
    /// Parses one file named `<name>@<version>.md`.
    pub fn parse(file: &str, text: &str) -> Result<Prompt, PromptError> {
        let invalid = |message: String| PromptError::Invalid {
            file: file.to_string(),
            message,
        };
        let stem = file.strip_suffix(".md").unwrap_or(file);
        let (name, version) = stem
            .rsplit_once('@')
            .ok_or_else(|| invalid("file name is not <name>@<version>.md".into()))?;
        let version: u32 = version
            .parse()
            .map_err(|_| invalid(format!("version {version:?} is not a number")))?;
        let rest = text
            .strip_prefix("---\n")
            .ok_or_else(|| invalid("missing front matter".into()))?;
        let (header, body) = rest
            .split_once("\n---\n")
            .ok_or_else(|| invalid("unterminated front matter".into()))?;
        let list = header
            .lines()
            .find_map(|l| l.trim().strip_prefix("variables:"))
            .ok_or_else(|| invalid("front matter has no variables".into()))?
            .trim();
        let list = list
            .strip_prefix('[')
            .and_then(|l| l.strip_suffix(']'))
            .ok_or_else(|| invalid("variables must be a [list]".into()))?;
        let variables: Vec<String> = list
            .split(',')
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .collect();
        let declared: BTreeSet<&str> = variables.iter().map(String::as_str).collect();
        let used: BTreeSet<&str> = placeholders(body)
            .map_err(invalid)?
            .into_iter()
            .map(|p| p.2)
            .collect();
        if let Some(v) = used.difference(&declared).next() {
            return Err(invalid(format!("uses undeclared variable {v}")));
        }
        if let Some(v) = declared.difference(&used).next() {
            return Err(invalid(format!("declares unused variable {v}")));
        }
        Ok(Prompt {
            reference: PromptRef {
                name: name.to_string(),
                version,
                sha256: hex::encode(Sha256::digest(text.as_bytes())),
            },
            variables,
            body: body.to_string(),
        })
    }

    /// Substitutes every placeholder; values are inserted verbatim and never re-scanned.
    pub fn render(&self, vars: &BTreeMap<String, String>) -> Result<String, PromptError> {
        let id = self.reference.to_string();
        if let Some(k) = vars.keys().find(|k| !self.variables.contains(k)) {
            return Err(PromptError::UndeclaredVariable {
                prompt: id,
                variable: k.clone(),
            });
        }
        if let Some(v) = self.variables.iter().find(|v| !vars.contains_key(*v)) {
            return Err(PromptError::MissingVariable {
                prompt: id,
                variable: v.clone(),
            });
        }
        let mut out = String::with_capacity(self.body.len());
        let mut last = 0;
        // Parsing succeeded at load time, so this cannot fail; map it anyway rather than panic.
        let spots = placeholders(&self.body).map_err(|message| PromptError::Invalid {
            file: id.clone(),
            message,
        })?;
        for (start, end, name) in spots {
            out.push_str(&self.body[last..start]);
            out.push_str(vars.get(name).map(String::as_str).unwrap_or_default());
            last = end;
        }
        out.push_str(&self.body[last..]);
        Ok(out)
    }
}

/// Templates by name and version. Later files with the same `name@version` replace earlier ones.
#[derive(Debug, Clone, Default)]
pub struct PromptRegistry {
    prompts: BTreeMap<(String, u32), Prompt>,
}

impl PromptRegistry {
    /// The templates compiled into the binary from `prompts/`.
    pub fn load_builtin() -> Result<Self, PromptError> {
        Self::from_files(BUILTIN.iter().copied())
    }

    /// Templates from `(file name, text)` pairs.
    pub fn from_files<'a>(
        files: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, PromptError> {
        let mut prompts = BTreeMap::new();
        for (file, text) in files {
            let p = Prompt::parse(file, text)?;
            prompts.insert((p.reference.name.clone(), p.reference.version), p);
        }
        Ok(PromptRegistry { prompts })
    }

    /// The template `name` at exactly `version`.
    pub fn get(&self, name: &str, version: u32) -> Option<&Prompt> {
        self.prompts.get(&(name.to_string(), version))
    }

    /// The highest version of `name`.
    pub fn latest(&self, name: &str) -> Option<&Prompt> {
        self.prompts
            .range((name.to_string(), 0)..=(name.to_string(), u32::MAX))
            .next_back()
            .map(|(_, p)| p)
    }

    /// Every template, ordered by name then version.
    pub fn iter(&self) -> impl Iterator<Item = &Prompt> {
        self.prompts.values()
    }

    /// Renders `name@version`.
    pub fn render(&self, id: &str, vars: &BTreeMap<String, String>) -> Result<String, PromptError> {
        let unknown = || PromptError::Unknown(id.to_string());
        let (name, version) = id.rsplit_once('@').ok_or_else(unknown)?;
        let version: u32 = version.parse().map_err(|_| unknown())?;
        self.get(name, version).ok_or_else(unknown)?.render(vars)
    }

    /// Checks every prompt against a LOCK text (`name@version <sha256>` lines, `#` comments):
    /// each must be listed with its current hash.
    pub fn verify_lock(&self, lock: &str) -> Result<(), PromptError> {
        let pinned: BTreeMap<&str, &str> = lock
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .filter_map(|l| l.split_once(char::is_whitespace))
            .map(|(id, h)| (id, h.trim()))
            .collect();
        for p in self.prompts.values() {
            let id = p.reference.to_string();
            let expected = pinned.get(id.as_str()).copied().unwrap_or("(not in LOCK)");
            if expected != p.reference.sha256 {
                return Err(PromptError::HashMismatch {
                    prompt: id,
                    expected: expected.to_string(),
                    actual: p.reference.sha256.clone(),
                });
            }
        }
        Ok(())
    }
}
