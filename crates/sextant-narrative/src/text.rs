//! Sentence and word splitting shared by the claim rules.

/// Sentences with their byte offsets; a `.` between digits is a decimal point, not a stop.
pub fn sentences(text: &str) -> Vec<(usize, &str)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    for (i, &c) in b.iter().enumerate() {
        let decimal = c == b'.'
            && i > 0
            && b[i - 1].is_ascii_digit()
            && b.get(i + 1).is_some_and(|d| d.is_ascii_digit());
        if (matches!(c, b'.' | b'!' | b'?') && !decimal) || c == b'\n' {
            out.push((start, &text[start..i]));
            start = i + 1;
        }
    }
    out.push((start, &text[start..]));
    out.into_iter()
        .filter(|(_, s)| !s.trim().is_empty())
        .collect()
}

/// Lower-case words with their byte offsets (letters, digits and apostrophes).
pub fn words(s: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut at = 0;
    for (i, c) in s.char_indices() {
        if c.is_alphanumeric() || c == '\'' || c == '\u{2019}' {
            if cur.is_empty() {
                at = i;
            }
            cur.extend(c.to_lowercase());
        } else if !cur.is_empty() {
            out.push((at, std::mem::take(&mut cur)));
        }
    }
    if !cur.is_empty() {
        out.push((at, cur));
    }
    out
}
