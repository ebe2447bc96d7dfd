//! A canonical text for an expression: every binary operation in parentheses, numbers in
//! shortest form, one space around operators. Two texts with the same canonical form parse to
//! the same tree, so tools that compare generated rules (the strategy builder's evaluation)
//! compare meaning up to spacing, redundant parentheses and `2` vs `2.0`.

use super::parse::{parse, Expr, SyntaxError};
use std::fmt::Write;

/// The canonical text of `expr`.
pub fn canonical(expr: &Expr) -> String {
    let mut out = String::new();
    write_expr(&mut out, expr);
    out
}

/// Parses `text` and returns its canonical text.
///
/// # Errors
///
/// The [`SyntaxError`] of `text`.
pub fn canonical_text(text: &str) -> Result<String, SyntaxError> {
    Ok(canonical(&parse(text)?))
}

fn write_expr(out: &mut String, e: &Expr) {
    match e {
        Expr::Num(v, _) => {
            let _ = write!(out, "{v}");
        }
        Expr::Bool(b, _) => out.push_str(if *b { "true" } else { "false" }),
        Expr::Str(s, _) => {
            out.push('"');
            // The language has no escapes: a string cannot hold a double quote.
            out.push_str(s);
            out.push('"');
        }
        Expr::Ident(n, _) => out.push_str(n),
        Expr::Call(name, args, _) => {
            out.push_str(name);
            out.push('(');
            for (i, a) in args.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_expr(out, a);
            }
            out.push(')');
        }
        Expr::Neg(x, _) => {
            out.push_str("(-");
            write_expr(out, x);
            out.push(')');
        }
        Expr::Not(x, _) => {
            out.push_str("(not ");
            write_expr(out, x);
            out.push(')');
        }
        Expr::Binary(op, l, r, _) => {
            out.push('(');
            write_expr(out, l);
            out.push(' ');
            out.push_str(op.symbol());
            out.push(' ');
            write_expr(out, r);
            out.push(')');
        }
        Expr::Lag(x, k, _) => {
            write_expr(out, x);
            out.push('[');
            write_expr(out, k);
            out.push(']');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::canonical_text;

    #[test]
    fn spacing_parentheses_and_number_forms_do_not_matter() {
        let a = canonical_text("rsi(close,2)<10 and close>sma(close, 200)").unwrap();
        let b = canonical_text("(rsi(close, 2.0) < 10) and (close > sma(close,200))").unwrap();
        assert_eq!(a, b);
        assert_eq!(a, "((rsi(close, 2) < 10) and (close > sma(close, 200)))");
        assert_ne!(
            a,
            canonical_text("rsi(close, 2) < 11 and close > sma(close, 200)").unwrap()
        );
    }

    #[test]
    fn strings_lags_and_unary_operators_round_trip() {
        for t in [
            "not in_regime(\"m\", \"bull\")",
            "close > highest(high, 20)[1]",
            "-zscore(close, 20) > 2",
            "ml_proba(\"spy_signal\") >= 0.6",
        ] {
            let c = canonical_text(t).unwrap();
            assert_eq!(canonical_text(&c).unwrap(), c, "{t}");
        }
    }
}
