//! Expressions: names, operators, constants, lags, and the node table that shares identical
//! sub-expressions.

use super::*;

impl Compiler<'_> {
    /// Adds (or finds) a node; `key` identifies it for sharing.
    pub(super) fn node(
        &mut self,
        key: Key,
        op: Op,
        outputs: usize,
        ty: Ty,
        depth: usize,
        show: String,
    ) -> (Slot, Ty) {
        if let Some(&hit) = self.memo.get(&key) {
            return hit;
        }
        let out = self.width;
        self.width += outputs;
        self.nodes.push(Node { op, out });
        for _ in 0..outputs {
            self.depth.push(depth);
            self.show.push(show.clone());
        }
        self.memo.insert(key, (out, ty));
        (out, ty)
    }

    pub(super) fn check_size(&self, src: Src<'_>, span: Span) -> Result<(), RuleError> {
        if self.nodes.len() >= MAX_NODES {
            return Err(src.err(
                span,
                format!("the definition compiles to more than {MAX_NODES} nodes"),
            ));
        }
        Ok(())
    }

    pub(super) fn constant(&mut self, v: f64, ty: Ty) -> (Slot, Ty) {
        let show = if !self.explain {
            String::new()
        } else if ty == Ty::Bool {
            (v != 0.0).to_string()
        } else {
            v.to_string()
        };
        let r = self.node(
            key("const", &[v.to_bits(), u64::from(ty == Ty::Bool)]),
            Op::Const(v),
            1,
            ty,
            0,
            show,
        );
        self.consts.insert(r.0, v);
        r
    }

    pub(super) fn expr(&mut self, src: Src<'_>, e: &Expr) -> Result<(Slot, Ty), RuleError> {
        // Each expression is at most MAX_DEPTH deep, but `let`s expand into each other: bound
        // the whole recursion so a chain of deep lets is an error, not a stack overflow.
        self.nesting += 1;
        if self.nesting > MAX_NESTING {
            self.nesting -= 1;
            return Err(src.err(
                e.span(),
                format!("nested deeper than {MAX_NESTING} levels through `let` definitions"),
            ));
        }
        let r = self.expr_at(src, e);
        self.nesting -= 1;
        r
    }

    fn expr_at(&mut self, src: Src<'_>, e: &Expr) -> Result<(Slot, Ty), RuleError> {
        self.check_size(src, e.span())?;
        match e {
            Expr::Num(v, _) => Ok(self.constant(*v, Ty::Num)),
            Expr::Bool(b, _) => Ok(self.constant(f64::from(u8::from(*b)), Ty::Bool)),
            Expr::Str(_, span) => Err(src.err(
                *span,
                "a string is only an argument of ml_proba, in_regime, regime_prob, feature or series",
            )),
            Expr::Ident(name, span) => self.ident(src, name, *span),
            Expr::Neg(a, _) => {
                let a = self.typed(src, a, Ty::Num)?;
                Ok(self.node(
                    key("neg", &[a as u64]),
                    Op::Neg(a),
                    1,
                    Ty::Num,
                    self.depth[a],
                    self.shown(format_args!("-({})", self.show[a])),
                ))
            }
            Expr::Not(a, _) => {
                let a = self.typed(src, a, Ty::Bool)?;
                if let Some(v) = self.const_of(a) {
                    return Ok(self.constant(f64::from(u8::from(v == 0.0)), Ty::Bool));
                }
                Ok(self.node(
                    key("not", &[a as u64]),
                    Op::Not(a),
                    1,
                    Ty::Bool,
                    self.depth[a],
                    self.shown(format_args!("not ({})", self.show[a])),
                ))
            }
            Expr::Binary(op, l, r, _) => self.binary(src, *op, l, r),
            Expr::Lag(x, k, _) => {
                let (a, ty) = self.expr(src, x)?;
                let k = self.const_int(src, k, 0)?;
                if k == 0 {
                    return Ok((a, ty));
                }
                let lag = Lag {
                    k,
                    src: a,
                    hist: Default::default(),
                    warm: if ty == Ty::Bool { 0.0 } else { f64::NAN },
                };
                Ok(self.node(
                    key("lag", &[a as u64, k as u64]),
                    Op::Lag(lag),
                    1,
                    ty,
                    self.depth[a] + k,
                    self.shown(format_args!("({})[{k}]", self.show[a])),
                ))
            }
            Expr::Call(name, args, span) => self.call(src, name, args, *span),
        }
    }

    pub(super) fn typed(&mut self, src: Src<'_>, e: &Expr, want: Ty) -> Result<Slot, RuleError> {
        let (s, ty) = self.expr(src, e)?;
        if ty != want {
            let (w, g) = match want {
                Ty::Num => ("a number", "a condition"),
                Ty::Bool => ("a condition (true or false)", "a number"),
            };
            return Err(src.err(e.span(), format!("expected {w}, found {g}")));
        }
        Ok(s)
    }

    pub(super) fn ident(
        &mut self,
        src: Src<'_>,
        name: &str,
        span: Span,
    ) -> Result<(Slot, Ty), RuleError> {
        let price = match name {
            "open" => Some(Price::Open),
            "high" => Some(Price::High),
            "low" => Some(Price::Low),
            "close" => Some(Price::Close),
            "volume" => Some(Price::Volume),
            _ => None,
        };
        if let Some(p) = price {
            return Ok(self.node(
                key("price", &[p as u64]),
                Op::Price(p),
                1,
                Ty::Num,
                0,
                name.to_string(),
            ));
        }
        if let Some(v) = self.values.get(name) {
            return Ok(match v {
                ParamValue::Bool(b) => self.constant(f64::from(u8::from(*b)), Ty::Bool),
                v => self.constant(v.as_f64(), Ty::Num),
            });
        }
        if let Some(&hit) = self.lets.get(name) {
            return Ok(hit);
        }
        if let Some(text) = self.doc.lets.get(name) {
            if !self.in_progress.insert(name.to_string()) {
                return Err(src.err(span, format!("`{name}` is defined in terms of itself")));
            }
            let field = format!("let.{name}");
            let inner = Src {
                field: &field,
                text,
            };
            let e = parse_shared(text).map_err(|e| {
                inner.err(
                    Span {
                        start: e.at,
                        end: e.at + 1,
                    },
                    e.message,
                )
            })?;
            let r = self.expr(inner, &e)?;
            self.in_progress.remove(name);
            self.lets.insert(name.to_string(), r);
            return Ok(r);
        }
        let mut known: Vec<&str> = vec!["open", "high", "low", "close", "volume"];
        known.extend(self.doc.params.keys().map(String::as_str));
        known.extend(self.doc.lets.keys().map(String::as_str));
        Err(src.err(
            span,
            format!("unknown name `{name}`; known: {}", known.join(", ")),
        ))
    }

    pub(super) fn binary(
        &mut self,
        src: Src<'_>,
        op: BinOp,
        l: &Expr,
        r: &Expr,
    ) -> Result<(Slot, Ty), RuleError> {
        let (bin, operand, result) = match op {
            BinOp::Add => (Bin::Add, Ty::Num, Ty::Num),
            BinOp::Sub => (Bin::Sub, Ty::Num, Ty::Num),
            BinOp::Mul => (Bin::Mul, Ty::Num, Ty::Num),
            BinOp::Div => (Bin::Div, Ty::Num, Ty::Num),
            BinOp::Lt => (Bin::Lt, Ty::Num, Ty::Bool),
            BinOp::Le => (Bin::Le, Ty::Num, Ty::Bool),
            BinOp::Gt => (Bin::Gt, Ty::Num, Ty::Bool),
            BinOp::Ge => (Bin::Ge, Ty::Num, Ty::Bool),
            BinOp::Eq => (Bin::Eq, Ty::Num, Ty::Bool),
            BinOp::Ne => (Bin::Ne, Ty::Num, Ty::Bool),
            BinOp::And => (Bin::And, Ty::Bool, Ty::Bool),
            BinOp::Or => (Bin::Or, Ty::Bool, Ty::Bool),
        };
        let a = self.typed(src, l, operand)?;
        let b = self.typed(src, r, operand)?;
        Ok(self.bin(bin, a, b, result, op.symbol()))
    }

    /// `text` when explaining, else nothing (format arguments are not rendered).
    pub(super) fn shown(&self, text: std::fmt::Arguments<'_>) -> String {
        if self.explain {
            text.to_string()
        } else {
            String::new()
        }
    }

    /// The value of a constant slot.
    pub(super) fn const_of(&self, s: Slot) -> Option<f64> {
        self.consts.get(&s).copied()
    }

    pub(super) fn bin(&mut self, bin: Bin, a: Slot, b: Slot, ty: Ty, symbol: &str) -> (Slot, Ty) {
        // Fold constants (parameters are constants here): `allow_short and x` with
        // allow_short false is false, so the short side it guards costs nothing per bar.
        match (bin, self.const_of(a), self.const_of(b)) {
            (_, Some(x), Some(y)) => {
                return self.constant(crate::rules::plan::binary(bin, x, y), ty)
            }
            (Bin::And, Some(x), None) | (Bin::Or, Some(x), None) => {
                let absorbing = (bin == Bin::And) == (x == 0.0);
                return if absorbing {
                    self.constant(f64::from(u8::from(bin == Bin::Or)), ty)
                } else {
                    (b, ty)
                };
            }
            (Bin::And, None, Some(y)) | (Bin::Or, None, Some(y)) => {
                let absorbing = (bin == Bin::And) == (y == 0.0);
                return if absorbing {
                    self.constant(f64::from(u8::from(bin == Bin::Or)), ty)
                } else {
                    (a, ty)
                };
            }
            _ => {}
        }
        let depth = self.depth[a].max(self.depth[b]);
        let show = self.shown(format_args!("({} {symbol} {})", self.show[a], self.show[b]));
        // A comparison with a constant (`rsi < lower`) keeps the constant in the node.
        let against = |k: Option<f64>, flipped: bool| {
            let k = k?;
            let op = match (bin, flipped) {
                (Bin::Lt, false) | (Bin::Gt, true) => Op::LtK,
                (Bin::Gt, false) | (Bin::Lt, true) => Op::GtK,
                (Bin::Le, false) | (Bin::Ge, true) => Op::LeK,
                (Bin::Ge, false) | (Bin::Le, true) => Op::GeK,
                _ => return None,
            };
            Some((op, k))
        };
        if let Some((make, k, x)) = against(self.const_of(b), false)
            .map(|(m, k)| (m, k, a))
            .or_else(|| against(self.const_of(a), true).map(|(m, k)| (m, k, b)))
        {
            let op = make(x, k);
            let code = match op {
                Op::LtK(..) => 0,
                Op::GtK(..) => 1,
                Op::LeK(..) => 2,
                _ => 3,
            };
            return self.node(
                key("cmpk", &[code, x as u64, k.to_bits()]),
                op,
                1,
                ty,
                depth,
                show,
            );
        }
        self.node(
            key("bin", &[bin as u64, a as u64, b as u64]),
            bin.op(a, b),
            1,
            ty,
            depth,
            show,
        )
    }

    /// A compile-time whole number (literal or integer parameter) in `min..=MAX_PERIOD`.
    pub(super) fn const_int(&self, src: Src<'_>, e: &Expr, min: usize) -> Result<usize, RuleError> {
        let v = match e {
            Expr::Num(v, _) => *v,
            Expr::Ident(name, _) => match self.values.get(name) {
                Some(ParamValue::Int(i)) => *i as f64,
                Some(_) => return Err(src.err(e.span(), format!("`{name}` must be an integer parameter here"))),
                None => return Err(src.err(e.span(), format!("`{name}` is not a parameter; a period or lag is a whole number or an integer parameter"))),
            },
            _ => return Err(src.err(e.span(), "a period or lag is a whole number or an integer parameter")),
        };
        if v.fract() != 0.0 || v < min as f64 || v > MAX_PERIOD as f64 {
            return Err(src.err(
                e.span(),
                format!("must be a whole number in {min}..={MAX_PERIOD}, got {v}"),
            ));
        }
        Ok(v as usize)
    }

    /// A compile-time number (literal or numeric parameter).
    pub(super) fn const_num(&self, src: Src<'_>, e: &Expr) -> Result<f64, RuleError> {
        match e {
            Expr::Num(v, _) => Ok(*v),
            Expr::Ident(name, _) => match self.values.get(name) {
                Some(ParamValue::Int(i)) => Ok(*i as f64),
                Some(ParamValue::Float(f)) => Ok(*f),
                _ => Err(src.err(e.span(), format!("`{name}` is not a numeric parameter"))),
            },
            _ => Err(src.err(e.span(), "expected a number or a numeric parameter")),
        }
    }

    pub(super) fn string(&self, src: Src<'_>, e: &Expr) -> Result<String, RuleError> {
        match e {
            Expr::Str(s, span) => {
                if s.is_empty() || s.len() > 128 || s.chars().any(|c| c.is_control()) {
                    return Err(src.err(*span, "a name of 1-128 printable characters"));
                }
                Ok(s.clone())
            }
            _ => Err(src.err(e.span(), "expected a double-quoted name")),
        }
    }

    pub(super) fn external(&mut self, r: Reference) -> usize {
        let name = r.series_name();
        self.references.push(r);
        match self.externals.iter().position(|e| *e == name) {
            Some(i) => i,
            None => {
                self.externals.push(name);
                self.externals.len() - 1
            }
        }
    }
}

/// What identifies a node for sharing: its kind and up to five numbers (input slots,
/// periods, the bits of a constant), with no allocation.
pub(super) type Key = (&'static str, [u64; 5]);

pub(super) fn key(kind: &'static str, parts: &[u64]) -> Key {
    let mut k = [u64::MAX; 5];
    for (d, p) in k.iter_mut().zip(parts) {
        *d = *p;
    }
    (kind, k)
}
