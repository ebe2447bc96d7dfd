//! The fast reader's cells: lines split into byte ranges, and each cell read exactly as DuckDB's
//! `read_csv` would have typed it, or refused.

use super::super::layout::resolution_of_spacing;
use super::{Role, DAY, EPOCH_DAYS_FROM_CE, FIELDS};
use chrono::{Datelike, NaiveDate};
use std::collections::HashMap;

/// About `n` byte ranges of `body` that each hold whole lines.
pub(super) fn chunk_bounds(body: &[u8], n: usize) -> Vec<(usize, usize)> {
    let step = body.len() / n.max(1) + 1;
    let mut out = Vec::with_capacity(n);
    let mut start = 0;
    while start < body.len() {
        let end = match memchr::memchr(b'\n', &body[(start + step).min(body.len())..]) {
            Some(i) => (start + step).min(body.len()) + i + 1,
            None => body.len(),
        };
        out.push((start, end));
        start = end;
    }
    out
}

/// One byte range's rows.
#[derive(Default)]
pub(super) struct Chunk {
    /// The chunk's symbols; `symbol` holds indexes into it.
    pub names: Vec<String>,
    pub symbol: Vec<u32>,
    /// Time as written (local, or UTC with `timestamps_utc`), seconds since 1970-01-01.
    pub time: Vec<i64>,
    /// Per field of [`FIELDS`] (empty when the file has no such column), `NaN` for NULL.
    pub values: Vec<Vec<f64>>,
    /// Length of the time cells (10 for dates, 19 for timestamps); 0 when the chunk is empty.
    pub time_len: usize,
}

pub(super) fn parse_chunk(data: &[u8], roles: &[Role]) -> Option<Chunk> {
    let mut c = Chunk {
        values: vec![Vec::new(); FIELDS.len()],
        ..Chunk::default()
    };
    let data = data.strip_suffix(b"\n").unwrap_or(data);
    if data.is_empty() {
        return Some(c);
    }
    // The chunk's rows counted first, so its columns are allocated once (growing them by
    // doubling copied each several times).
    let rows = memchr::memchr_iter(b'\n', data).count() + 1;
    c.symbol.reserve_exact(rows);
    c.time.reserve_exact(rows);
    for role in roles {
        if let Role::Value(k) = role {
            if let Some(v) = c.values.get_mut(*k) {
                v.reserve_exact(rows);
            }
        }
    }
    // Symbol ids by the cell as written and by the stored name (" aapl" and "AAPL" are one).
    let mut by_cell: HashMap<Vec<u8>, u32> = HashMap::new();
    let mut by_name: HashMap<String, u32> = HashMap::new();
    let mut last_symbol: Option<(&[u8], u32)> = None;
    let mut last_date: ([u8; 10], i64) = ([0; 10], 0);
    for line in data.split(|&b| b == b'\n') {
        let line = trim_cr(line);
        if line.is_empty() {
            return None;
        }
        let mut cells = line.split(|&b| b == b',');
        for role in roles {
            let cell = cells.next()?;
            match *role {
                Role::Skip => {}
                Role::Value(k) => c.values[k].push(parse_number(cell)?),
                Role::Time => {
                    if c.time_len == 0 {
                        c.time_len = cell.len();
                    }
                    if cell.len() != c.time_len {
                        return None;
                    }
                    c.time.push(parse_time(cell, &mut last_date)?);
                }
                Role::Symbol => {
                    let id = match last_symbol {
                        Some((s, id)) if s == cell => id,
                        _ => {
                            let id = match by_cell.get(cell) {
                                Some(&id) => id,
                                None => {
                                    let name = symbol_text(cell)?;
                                    let next = by_name.len() as u32;
                                    let id = *by_name.entry(name.clone()).or_insert_with(|| {
                                        c.names.push(name);
                                        next
                                    });
                                    by_cell.insert(cell.to_vec(), id);
                                    id
                                }
                            };
                            last_symbol = Some((cell, id));
                            id
                        }
                    };
                    c.symbol.push(id);
                }
            }
        }
        if cells.next().is_some() {
            return None;
        }
    }
    Some(c)
}

/// `upper(trim(cell))`, as the SQL path stores a ticker; `None` for what DuckDB might have read
/// as another type (a number, a date, a boolean) and turned into different text.
pub(super) fn symbol_text(cell: &[u8]) -> Option<String> {
    let s = std::str::from_utf8(cell).ok()?.trim_matches(' ');
    if !s.is_ascii() || !s.bytes().any(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    let upper = s.to_ascii_uppercase();
    let typed = [
        "TRUE", "FALSE", "T", "F", "Y", "N", "YES", "NO", "NAN", "INF", "INFINITY",
    ];
    if typed.contains(&upper.as_str()) || parse_number(s.as_bytes()).is_some() {
        return None;
    }
    Some(upper)
}

/// Powers of ten that are exact doubles.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// A plain decimal number (`-?digits[.digits][e[+-]digits]`), `NaN` for an empty cell (NULL);
/// `None` for anything else, and for `-0` (which DuckDB reads as 0 in an integer column).
pub(super) fn parse_number(cell: &[u8]) -> Option<f64> {
    if cell.is_empty() {
        return Some(f64::NAN);
    }
    // The digits as one integer while there are few enough of them to be exact in a double.
    let mut mantissa: u64 = 0;
    let mut significant = 0usize;
    let mut digits = |from: usize| {
        let n = cell[from..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        for &b in &cell[from..from + n] {
            mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(b - b'0'));
        }
        significant += n;
        n
    };
    let negative = cell[0] == b'-';
    let mut i = usize::from(negative);
    let n = digits(i);
    if n == 0 {
        return None;
    }
    i += n;
    let mut fraction = 0usize;
    if cell.get(i) == Some(&b'.') {
        let n = digits(i + 1);
        if n == 0 {
            return None;
        }
        fraction = n;
        i += 1 + n;
    }
    let plain = i;
    if matches!(cell.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(cell.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let n = cell[i..].iter().take_while(|b| b.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        i += n;
    }
    if i != cell.len() {
        return None;
    }
    // Clinger's fast path, exact: an integer of at most 15 digits (< 2^53) and a power of ten
    // of at most 22 are both exact doubles, and one IEEE division is correctly rounded, so the
    // quotient is the double nearest the decimal, as the full parser finds it.
    let v = if plain == cell.len() && significant <= 15 && fraction <= 22 {
        let magnitude = mantissa as f64 / POW10[fraction];
        if negative {
            -magnitude
        } else {
            magnitude
        }
    } else {
        // The grammar above admits only ASCII.
        std::str::from_utf8(cell).ok()?.parse().ok()?
    };
    (v != 0.0 || v.is_sign_positive()).then_some(v)
}

/// `YYYY-MM-DD` or `YYYY-MM-DD HH:MM:SS` (or `T` between), seconds since 1970-01-01; the last
/// date read is remembered (rows of a day share it).
pub(super) fn parse_time(cell: &[u8], last: &mut ([u8; 10], i64)) -> Option<i64> {
    if cell.len() != 10 && cell.len() != 19 {
        return None;
    }
    let days = if cell[..10] == last.0 {
        last.1
    } else {
        if cell[4] != b'-' || cell[7] != b'-' {
            return None;
        }
        let year = digits_value(&cell[0..4])?;
        let date = NaiveDate::from_ymd_opt(
            year as i32,
            digits_value(&cell[5..7])? as u32,
            digits_value(&cell[8..10])? as u32,
        )?;
        let days = date.num_days_from_ce() as i64 - EPOCH_DAYS_FROM_CE;
        last.0.copy_from_slice(&cell[..10]);
        last.1 = days;
        days
    };
    if cell.len() == 10 {
        return Some(days * DAY);
    }
    if !matches!(cell[10], b' ' | b'T') || cell[13] != b':' || cell[16] != b':' {
        return None;
    }
    let (h, m, s) = (
        digits_value(&cell[11..13])?,
        digits_value(&cell[14..16])?,
        digits_value(&cell[17..19])?,
    );
    (h < 24 && m < 60 && s < 60).then_some(days * DAY + h * 3600 + m * 60 + s)
}

fn digits_value(b: &[u8]) -> Option<i64> {
    b.iter().try_fold(0i64, |acc, &c| {
        c.is_ascii_digit().then_some(acc * 10 + i64::from(c - b'0'))
    })
}

/// As the SQL path's `infer_resolution`: daily when every timestamp is midnight, otherwise the
/// smallest spacing within a day; `None` when no two intraday timestamps share a day.
pub(super) fn infer_resolution(times: &[i64]) -> Option<sextant_domain::Resolution> {
    let mut t = times.to_vec();
    t.sort_unstable();
    t.dedup();
    if t.iter().all(|x| x.rem_euclid(DAY) == 0) {
        return Some(sextant_domain::Resolution::Daily);
    }
    let min = t
        .windows(2)
        .filter(|w| w[0].div_euclid(DAY) == w[1].div_euclid(DAY))
        .map(|w| w[1] - w[0])
        .min()?;
    Some(resolution_of_spacing((min as f64 / 60.0).round() as i64))
}

pub(super) fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}
