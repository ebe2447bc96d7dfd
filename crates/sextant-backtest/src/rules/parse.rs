//! Tokens and syntax of a rule expression: a recursive-descent parser with bounded depth and
//! length, so adversarial input ends in a [`SyntaxError`] rather than a stack overflow.
//!
//! Precedence, loosest first: `or`, `and`, `not`, comparisons (`< <= > >= == !=`, not
//! chained), `+ -`, `* /`, unary `-`, postfix lag `x[k]`, then literals, names, calls and
//! parentheses.

use std::fmt;

/// Longest expression accepted, in bytes.
pub const MAX_EXPR_BYTES: usize = 4_000;
/// Deepest nesting accepted (parentheses, calls, operators).
pub const MAX_DEPTH: usize = 64;

/// A byte range in the expression text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    fn to(self, other: Span) -> Span {
        Span {
            start: self.start,
            end: other.end,
        }
    }
}

/// Binary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `and`
    And,
    /// `or`
    Or,
}

impl BinOp {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::And => "and",
            BinOp::Or => "or",
        }
    }
}

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A finite number literal.
    Num(f64, Span),
    /// `true` or `false`.
    Bool(bool, Span),
    /// A double-quoted string (model and series names).
    Str(String, Span),
    /// A name: a price series, a parameter or a `let` definition.
    Ident(String, Span),
    /// `name(args…)`.
    Call(String, Vec<Expr>, Span),
    /// `-e`.
    Neg(Box<Expr>, Span),
    /// `not e`.
    Not(Box<Expr>, Span),
    /// `l op r`.
    Binary(BinOp, Box<Expr>, Box<Expr>, Span),
    /// `e[k]`: the value `k` bars ago.
    Lag(Box<Expr>, Box<Expr>, Span),
}

impl Expr {
    /// Where the expression sits in its text.
    pub fn span(&self) -> Span {
        match self {
            Expr::Num(_, s)
            | Expr::Bool(_, s)
            | Expr::Str(_, s)
            | Expr::Ident(_, s)
            | Expr::Call(_, _, s)
            | Expr::Neg(_, s)
            | Expr::Not(_, s)
            | Expr::Binary(_, _, _, s)
            | Expr::Lag(_, _, s) => *s,
        }
    }
}

/// A syntax error at a byte offset of the expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// Byte offset of the offending token.
    pub at: usize,
    /// What is wrong there.
    pub message: String,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message)
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(f64),
    Str(String),
    Ident(String),
    Op(&'static str),
    Eof,
}

struct Lexer<'a> {
    src: &'a [u8],
    text: &'a str,
    pos: usize,
}

const OPS: [&str; 16] = [
    "<=", ">=", "==", "!=", "<", ">", "+", "-", "*", "/", "(", ")", "[", "]", ",", "!",
];

impl<'a> Lexer<'a> {
    fn next(&mut self) -> Result<(Tok, Span), SyntaxError> {
        while self.pos < self.src.len() && self.src[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
        let start = self.pos;
        let Some(&c) = self.src.get(self.pos) else {
            return Ok((Tok::Eof, Span { start, end: start }));
        };
        let err = |m: String| SyntaxError {
            at: start,
            message: m,
        };
        let tok = if c.is_ascii_digit() || (c == b'.' && self.peek_digit(1)) {
            self.number().map_err(err)?
        } else if c.is_ascii_alphabetic() || c == b'_' {
            while self
                .src
                .get(self.pos)
                .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
            {
                self.pos += 1;
            }
            Tok::Ident(self.text[start..self.pos].to_string())
        } else if c == b'"' {
            let close = self.src[start + 1..]
                .iter()
                .position(|b| *b == b'"')
                .ok_or_else(|| err("unterminated string".into()))?;
            self.pos = start + 1 + close + 1;
            Tok::Str(self.text[start + 1..start + 1 + close].to_string())
        } else if let Some(op) = OPS
            .iter()
            .find(|op| self.src[start..].starts_with(op.as_bytes()))
        {
            self.pos += op.len();
            if *op == "!" {
                return Err(err("unexpected '!': write `not x` or `a != b`".into()));
            }
            Tok::Op(op)
        } else {
            let ch = self.text[start..].chars().next().unwrap_or('?');
            return Err(err(format!("unexpected character {ch:?}")));
        };
        Ok((
            tok,
            Span {
                start,
                end: self.pos,
            },
        ))
    }

    fn peek_digit(&self, ahead: usize) -> bool {
        self.src
            .get(self.pos + ahead)
            .is_some_and(|b| b.is_ascii_digit())
    }

    fn number(&mut self) -> Result<Tok, String> {
        let start = self.pos;
        let digits = |l: &mut Self| {
            while l.src.get(l.pos).is_some_and(|b| b.is_ascii_digit()) {
                l.pos += 1;
            }
        };
        digits(self);
        if self.src.get(self.pos) == Some(&b'.') {
            self.pos += 1;
            digits(self);
        }
        if matches!(self.src.get(self.pos), Some(b'e' | b'E')) {
            let save = self.pos;
            self.pos += 1;
            if matches!(self.src.get(self.pos), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if self.peek_digit(0) {
                digits(self);
            } else {
                self.pos = save;
            }
        }
        let text = &self.text[start..self.pos];
        match text.parse::<f64>() {
            Ok(v) if v.is_finite() && (v == 0.0 || v.abs() >= 1e-300) => Ok(Tok::Num(v)),
            _ => Err(format!("number {text} is out of range")),
        }
    }
}

struct Parser<'a> {
    lex: Lexer<'a>,
    tok: Tok,
    span: Span,
    depth: usize,
}

/// Expressions kept by [`parse_shared`] per thread before the memo starts over.
const MEMO_ENTRIES: usize = 512;

thread_local! {
    static MEMO: std::cell::RefCell<std::collections::HashMap<String, std::rc::Rc<Expr>>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// [`parse`], memoised per thread: a tuning study or a sweep builds the same definition once
/// per trial with other parameter values, and its expressions need parsing only once. (Errors
/// are not kept; parsing is a pure function of the text, so a memo cannot change a result.)
pub fn parse_shared(text: &str) -> Result<std::rc::Rc<Expr>, SyntaxError> {
    if let Some(hit) = MEMO.with(|m| m.borrow().get(text).cloned()) {
        return Ok(hit);
    }
    let e = std::rc::Rc::new(parse(text)?);
    MEMO.with(|m| {
        let mut m = m.borrow_mut();
        if m.len() >= MEMO_ENTRIES {
            m.clear();
        }
        m.insert(text.to_string(), e.clone());
    });
    Ok(e)
}

/// Parses one expression.
pub fn parse(text: &str) -> Result<Expr, SyntaxError> {
    if text.len() > MAX_EXPR_BYTES {
        return Err(SyntaxError {
            at: MAX_EXPR_BYTES,
            message: format!(
                "expression of {} bytes is longer than {MAX_EXPR_BYTES}",
                text.len()
            ),
        });
    }
    let mut lex = Lexer {
        src: text.as_bytes(),
        text,
        pos: 0,
    };
    let (tok, span) = lex.next()?;
    let mut p = Parser {
        lex,
        tok,
        span,
        depth: 0,
    };
    if p.tok == Tok::Eof {
        return Err(p.error("empty expression"));
    }
    let e = p.or()?;
    if p.tok != Tok::Eof {
        return Err(p.error(format!("unexpected {} after the expression", p.describe())));
    }
    Ok(e)
}

impl Parser<'_> {
    fn bump(&mut self) -> Result<(Tok, Span), SyntaxError> {
        let (tok, span) = self.lex.next()?;
        let prev = (std::mem::replace(&mut self.tok, tok), self.span);
        self.span = span;
        Ok(prev)
    }

    fn error(&self, message: impl Into<String>) -> SyntaxError {
        SyntaxError {
            at: self.span.start,
            message: message.into(),
        }
    }

    fn describe(&self) -> String {
        match &self.tok {
            Tok::Num(v) => format!("number {v}"),
            Tok::Str(s) => format!("string {s:?}"),
            Tok::Ident(s) => format!("name {s:?}"),
            Tok::Op(o) => format!("'{o}'"),
            Tok::Eof => "end of expression".into(),
        }
    }

    fn is_op(&self, op: &str) -> bool {
        matches!(self.tok, Tok::Op(o) if o == op)
    }

    fn is_word(&self, w: &str) -> bool {
        matches!(&self.tok, Tok::Ident(s) if s == w)
    }

    fn expect(&mut self, op: &str) -> Result<Span, SyntaxError> {
        if self.is_op(op) {
            Ok(self.bump()?.1)
        } else {
            Err(self.error(format!("expected '{op}', found {}", self.describe())))
        }
    }

    fn enter(&mut self) -> Result<(), SyntaxError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(format!("nesting deeper than {MAX_DEPTH}")));
        }
        Ok(())
    }

    fn binary_chain(
        &mut self,
        ops: &[(&str, BinOp)],
        next: fn(&mut Self) -> Result<Expr, SyntaxError>,
        words: bool,
    ) -> Result<Expr, SyntaxError> {
        let mut l = next(self)?;
        // A chain `a + b + c` is a left-deep tree: each operator is one level deeper.
        let mut levels = 0;
        loop {
            let Some(op) = ops.iter().find_map(|(s, op)| {
                let hit = if words {
                    self.is_word(s)
                } else {
                    self.is_op(s)
                };
                hit.then_some(*op)
            }) else {
                self.depth -= levels;
                return Ok(l);
            };
            levels += 1;
            self.bump()?;
            self.enter()?;
            let r = next(self)?;
            let span = l.span().to(r.span());
            l = Expr::Binary(op, Box::new(l), Box::new(r), span);
        }
    }

    fn or(&mut self) -> Result<Expr, SyntaxError> {
        self.binary_chain(&[("or", BinOp::Or)], Self::and, true)
    }

    fn and(&mut self) -> Result<Expr, SyntaxError> {
        self.binary_chain(&[("and", BinOp::And)], Self::not, true)
    }

    fn not(&mut self) -> Result<Expr, SyntaxError> {
        if self.is_word("not") {
            let start = self.bump()?.1;
            self.enter()?;
            let e = self.not()?;
            self.depth -= 1;
            let span = start.to(e.span());
            return Ok(Expr::Not(Box::new(e), span));
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Expr, SyntaxError> {
        const CMP: [(&str, BinOp); 6] = [
            ("<=", BinOp::Le),
            (">=", BinOp::Ge),
            ("==", BinOp::Eq),
            ("!=", BinOp::Ne),
            ("<", BinOp::Lt),
            (">", BinOp::Gt),
        ];
        let l = self.additive()?;
        let Some(op) = CMP.iter().find_map(|(s, op)| self.is_op(s).then_some(*op)) else {
            return Ok(l);
        };
        self.bump()?;
        let r = self.additive()?;
        if CMP.iter().any(|(s, _)| self.is_op(s)) {
            return Err(self.error("comparisons do not chain: write `a < b and b < c`"));
        }
        let span = l.span().to(r.span());
        Ok(Expr::Binary(op, Box::new(l), Box::new(r), span))
    }

    fn additive(&mut self) -> Result<Expr, SyntaxError> {
        self.binary_chain(
            &[("+", BinOp::Add), ("-", BinOp::Sub)],
            Self::multiplicative,
            false,
        )
    }

    fn multiplicative(&mut self) -> Result<Expr, SyntaxError> {
        self.binary_chain(&[("*", BinOp::Mul), ("/", BinOp::Div)], Self::unary, false)
    }

    fn unary(&mut self) -> Result<Expr, SyntaxError> {
        if self.is_op("-") {
            let start = self.bump()?.1;
            self.enter()?;
            let e = self.unary()?;
            self.depth -= 1;
            let span = start.to(e.span());
            return Ok(match e {
                Expr::Num(v, _) => Expr::Num(-v, span),
                e => Expr::Neg(Box::new(e), span),
            });
        }
        self.postfix()
    }

    fn postfix(&mut self) -> Result<Expr, SyntaxError> {
        let mut e = self.primary()?;
        let mut levels = 0;
        while self.is_op("[") {
            self.bump()?;
            self.enter()?;
            levels += 1;
            let k = self.or()?;
            let end = self.expect("]")?;
            let span = e.span().to(end);
            e = Expr::Lag(Box::new(e), Box::new(k), span);
        }
        self.depth -= levels;
        Ok(e)
    }

    fn primary(&mut self) -> Result<Expr, SyntaxError> {
        let (tok, span) = (self.tok.clone(), self.span);
        match tok {
            Tok::Num(v) => {
                self.bump()?;
                Ok(Expr::Num(v, span))
            }
            Tok::Str(s) => {
                self.bump()?;
                Ok(Expr::Str(s, span))
            }
            Tok::Ident(name) => {
                if matches!(name.as_str(), "and" | "or" | "not") {
                    return Err(self.error(format!("expected a value, found '{name}'")));
                }
                self.bump()?;
                if name == "true" || name == "false" {
                    return Ok(Expr::Bool(name == "true", span));
                }
                if !self.is_op("(") {
                    return Ok(Expr::Ident(name, span));
                }
                self.bump()?;
                self.enter()?;
                let mut args = Vec::new();
                if !self.is_op(")") {
                    loop {
                        args.push(self.or()?);
                        if args.len() > 8 {
                            return Err(self.error("more than 8 arguments"));
                        }
                        if !self.is_op(",") {
                            break;
                        }
                        self.bump()?;
                    }
                }
                let end = self.expect(")")?;
                self.depth -= 1;
                Ok(Expr::Call(name, args, span.to(end)))
            }
            Tok::Op("(") => {
                self.bump()?;
                self.enter()?;
                let e = self.or()?;
                self.expect(")")?;
                self.depth -= 1;
                Ok(e)
            }
            _ => Err(self.error(format!("expected a value, found {}", self.describe()))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_and_spans() {
        let e = parse("a + b * c > 2 and not x or y").expect("parses");
        let Expr::Binary(BinOp::Or, l, _, _) = e else {
            panic!("or at the top: {e:?}")
        };
        let Expr::Binary(BinOp::And, cmp, _, _) = *l else {
            panic!("and under or")
        };
        assert!(matches!(*cmp, Expr::Binary(BinOp::Gt, _, _, _)));
        let e = parse("sma(close, 10)[3]").expect("parses");
        assert!(matches!(e, Expr::Lag(_, _, Span { start: 0, end: 17 })));
        assert_eq!(
            parse("-2").expect("parses"),
            Expr::Num(-2.0, Span { start: 0, end: 2 })
        );
    }

    #[test]
    fn errors_point_at_the_token() {
        let e = parse("crossover(a, )").expect_err("bad");
        assert_eq!(e.at, 13);
        assert!(e.message.contains("expected a value"), "{e}");
        assert_eq!(parse("a < b < c").expect_err("chain").at, 6);
        assert_eq!(parse("1e999").expect_err("huge").at, 0);
        assert_eq!(parse("a ! b").expect_err("bang").at, 2);
        assert!(parse("\"open").is_err());
        assert!(parse("").is_err());
        let deep = format!("{}x{}", "(".repeat(200), ")".repeat(200));
        assert!(parse(&deep).expect_err("deep").message.contains("nesting"));
        let long = "x+".repeat(3000) + "x";
        assert!(parse(&long).is_err());
    }
}
