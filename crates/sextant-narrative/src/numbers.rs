//! A small hand-written scanner for the numbers and dates in a narrative.
//!
//! Recognised (no regex dependency, so the rules are all here):
//! - ISO dates `YYYY-MM-DD` → [`Token::Date`];
//! - numbers: digits with optional thousands separators (`13,028`: a comma followed by exactly
//!   three digits, first group ≤ 3 digits) and an optional decimal part; a sign (`-`, `+`, `−`)
//!   directly before counts only when it does not follow a letter or digit (so `2008-2012` is
//!   two numbers, not a subtraction); a `$` prefix marks currency; a `%` suffix (optionally after
//!   one space) or the words `percent`, `percentage`, `pct` mark a percentage;
//! - digits glued to letters or `_` (`H1`, `sma_20`, `MSFT2`) are identifiers, not numbers;
//! - a list or section number (`1.` or `2)` at the start of a line, after `#`s) is skipped.

/// A number as written.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Number {
    /// The value as written, sign applied, percent sign *not* applied (`12.3%` → 12.3).
    pub value: f64,
    /// Digits after the decimal point: the displayed precision.
    pub decimals: u32,
    /// Marked as a percentage (`%`, ` %`, `percent`, `pct`, `pp`, …): `value` is then in percent.
    pub percent: bool,
    /// Written with a `$` (before or after the sign).
    pub currency: bool,
    /// An explicit `+` or `-` was written.
    pub signed: bool,
}

impl Number {
    /// Half a unit of the last displayed digit: the rounding a writer may have applied.
    pub fn tolerance(&self) -> f64 {
        0.5 * 10f64.powi(-(self.decimals as i32))
    }
}

/// What the scanner found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Token {
    /// A number, as written.
    Number(Number),
    /// An ISO `YYYY-MM-DD` date.
    Date(chrono::NaiveDate),
}

/// A token and its byte span in the scanned text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scanned {
    /// The number or date found.
    pub token: Token,
    /// Byte offset of the token's first character, including a sign, `$` or bare leading `.`.
    pub start: usize,
    /// Byte offset just past the token (exclusive), including a percent sign or word.
    pub end: usize,
}

fn digits_at(b: &[u8], i: usize) -> usize {
    b[i..].iter().take_while(|c| c.is_ascii_digit()).count()
}

fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Every number and date in `text`, in order.
pub fn scan(text: &str) -> Vec<Scanned> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_digit() || (i > 0 && is_word(b[i - 1])) {
            // Skip whole identifiers (and the decimals of a number already consumed).
            if b[i].is_ascii_digit() || is_word(b[i]) {
                while i < b.len() && is_word(b[i]) {
                    i += 1;
                }
            } else {
                i += 1;
            }
            continue;
        }
        let (tok, end) = read_at(text, i);
        i = end.max(i + 1);
        if let Some(t) = tok {
            out.push(t);
        }
    }
    out
}

/// Reads the token whose first digit is at `i`; returns it (or `None` for a skipped list
/// number or an identifier) and where scanning resumes.
fn read_at(text: &str, i: usize) -> (Option<Scanned>, usize) {
    let b = text.as_bytes();
    let n = digits_at(b, i);
    if n == 4 && b.len() >= i + 10 && b[i + 4] == b'-' && b[i + 7] == b'-' {
        let s = &text[i..i + 10];
        if digits_at(b, i + 5) == 2
            && digits_at(b, i + 8) == 2
            && (b.len() == i + 10 || !is_word(b[i + 10]))
        {
            if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
                let t = Scanned {
                    token: Token::Date(d),
                    start: i,
                    end: i + 10,
                };
                return (Some(t), i + 10);
            }
        }
    }
    let mut j = i + n;
    let mut raw: String = text[i..j].to_string();
    // `.5` (no leading zero): the digits are the decimals.
    let bare_decimal = i > 0 && b[i - 1] == b'.' && (i < 2 || !b[i - 2].is_ascii_digit());
    if n <= 3 {
        while b.get(j) == Some(&b',')
            && digits_at(b, j + 1) == 3
            && b.get(j + 4).is_none_or(|c| !c.is_ascii_digit())
        {
            raw.push_str(&text[j + 1..j + 4]);
            j += 4;
        }
    }
    let mut decimals = 0;
    if b.get(j) == Some(&b'.') && j + 1 < b.len() && b[j + 1].is_ascii_digit() {
        decimals = digits_at(b, j + 1);
        raw.push_str(&text[j..j + 1 + decimals]);
        j += 1 + decimals;
    }
    if j < b.len() && is_word(b[j]) && !word_suffix_ok(&text[j..]) {
        // `20d`, `3x` style suffixes are fine, glued identifiers like `2nd`/`H1x2y` are not numbers
        let k = j + b[j..].iter().take_while(|&&c| is_word(c)).count();
        return (None, k);
    }
    if decimals == 0 && is_list_marker(text, i, j) {
        return (None, j + 1);
    }
    let (mut start, mut sign, mut currency) = (i, 1.0, false);
    if bare_decimal {
        raw = format!("0.{raw}");
        decimals = n;
        start -= 1;
    }
    let prefix = &text[..i];
    if prefix.ends_with('$') {
        currency = true;
        start -= 1;
    }
    let before = &text[..start];
    let mut signed = false;
    for (s, v) in [("-", -1.0), ("+", 1.0), ("\u{2212}", -1.0)] {
        if let Some(rest) = before.strip_suffix(s) {
            if rest.as_bytes().last().is_none_or(|&c| !is_word(c)) {
                sign = v;
                signed = true;
                start = rest.len();
            }
        }
    }
    if !currency && text[..start].ends_with('$') {
        currency = true;
        start -= 1;
    }
    let (percent, end) = percent_suffix(text, j);
    let value = raw.replace(',', "").parse::<f64>().unwrap_or(f64::NAN) * sign;
    let num = Number {
        value,
        decimals: decimals as u32,
        percent,
        currency,
        signed,
    };
    (
        Some(Scanned {
            token: Token::Number(num),
            start,
            end,
        }),
        end,
    )
}

fn word_suffix_ok(rest: &str) -> bool {
    let w: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    matches!(w.as_str(), "x" | "d" | "y" | "bps" | "bp")
}

/// `1.` / `2)` first on a line (after spaces and `#`s): section or list numbering.
fn is_list_marker(text: &str, i: usize, j: usize) -> bool {
    let line_start = text[..i].rfind('\n').map_or(0, |p| p + 1);
    let lead = &text[line_start..i];
    let after = &text[j..];
    lead.chars().all(|c| c == ' ' || c == '#' || c == '\t')
        && (after.starts_with(". ")
            || after.starts_with(") ")
            || after == "."
            || after.starts_with(".\n"))
}

fn percent_suffix(text: &str, j: usize) -> (bool, usize) {
    let rest = &text[j..];
    if rest.starts_with('%') {
        return (true, j + 1);
    }
    if rest.starts_with(" %") {
        return (true, j + 2);
    }
    let lower = rest.to_ascii_lowercase();
    for w in [
        " percentage points",
        " percentage point",
        " percent",
        " per cent",
        " pct",
        " pp",
    ] {
        if lower.starts_with(w)
            && lower[w.len()..]
                .chars()
                .next()
                .is_none_or(|c| !c.is_ascii_alphanumeric())
        {
            return (true, j + w.len());
        }
    }
    (false, j)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nums(t: &str) -> Vec<Number> {
        scan(t)
            .into_iter()
            .filter_map(|s| match s.token {
                Token::Number(n) => Some(n),
                Token::Date(_) => None,
            })
            .collect()
    }

    #[test]
    fn forms() {
        let n = nums("rose 12.3% to $13,028.18, drawdown -45.0%, 7 trades, sma_20 H1 x 2008-2012.");
        let v: Vec<(f64, u32, bool, bool)> = n
            .iter()
            .map(|n| (n.value, n.decimals, n.percent, n.currency))
            .collect();
        assert_eq!(
            v,
            vec![
                (12.3, 1, true, false),
                (13028.18, 2, false, true),
                (-45.0, 1, true, false),
                (7.0, 0, false, false),
                (2008.0, 0, false, false),
                (2012.0, 0, false, false)
            ]
        );
        assert!(matches!(scan("on 2013-03-01.")[0].token, Token::Date(_)));
        assert!(nums("## 1. Summary\n2) item").is_empty());
        assert!(nums("5.2 percentage points")[0].percent);
    }
}
