//! Function calls: every indicator, window, crossover and external-data function, checked
//! for arity, argument types and periods.

use super::expr::key;
use super::*;

impl Compiler<'_> {
    /// The ATR(`n`) node, shared by `atr(n)` in expressions and ATR-based risk levels.
    pub(super) fn atr_node(&mut self, n: usize) -> Result<Slot, IndicatorError> {
        let state = AtrState::new(n)?;
        let show = self.shown(format_args!("atr({n})"));
        Ok(self
            .node(key("atr", &[n as u64]), Op::Atr(state), 1, Ty::Num, n, show)
            .0)
    }

    pub(super) fn call(
        &mut self,
        src: Src<'_>,
        name: &str,
        args: &[Expr],
        span: Span,
    ) -> Result<(Slot, Ty), RuleError> {
        let name_span = Span {
            start: span.start,
            end: span.start + name.len(),
        };
        let Some(arity) = arity(name) else {
            return Err(src.err(
                name_span,
                format!(
                    "unknown function `{name}`; the functions are {}",
                    FUNCTIONS
                        .iter()
                        .map(|(n, _)| *n)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        };
        if args.len() != arity {
            return Err(src.err(
                span,
                format!(
                    "{name} takes {arity} argument{}, got {}",
                    if arity == 1 { "" } else { "s" },
                    args.len()
                ),
            ));
        }
        let at = |e: IndicatorError| src.err(span, ind_err(e));
        // One-series window indicators: f(x, n).
        let window = |c: &mut Self,
                      make: &dyn Fn(usize, Slot) -> Result<Op, IndicatorError>,
                      lookback: &dyn Fn(usize) -> usize|
         -> Result<(Slot, Ty), RuleError> {
            let x = c.typed(src, &args[0], Ty::Num)?;
            let n = c.const_int(src, &args[1], 1)?;
            let op = make(n, x).map_err(at)?;
            let depth = c.depth[x] + lookback(n);
            let show = c.shown(format_args!("{name}({}, {n})", c.show[x]));
            Ok(c.node(
                key(static_name(name), &[x as u64, n as u64]),
                op,
                1,
                Ty::Num,
                depth,
                show,
            ))
        };
        match name {
            "sma" | "mean" => window(self, &|n, x| Ok(Op::Sma(SmaState::new(n)?, x)), &|n| n - 1),
            "ema" => window(self, &|n, x| Ok(Op::Ema(EmaState::new(n)?, x)), &|n| n - 1),
            "wma" => window(self, &|n, x| Ok(Op::Wma(WmaState::new(n)?, x)), &|n| n - 1),
            "rsi" => window(self, &|n, x| Ok(Op::Rsi(RsiState::new(n)?, x)), &|n| n),
            "roc" => window(self, &|n, x| Ok(Op::Roc(RocState::new(n)?, x)), &|n| n),
            "mom" => window(self, &|n, x| Ok(Op::Mom(MomState::new(n)?, x)), &|n| n),
            "zscore" => window(
                self,
                &|n, x| Ok(Op::ZScore(ZScoreState::new(n, StdKind::Population)?, x)),
                &|n| n - 1,
            ),
            "std" => window(self, &|n, x| Ok(Op::Std(RollingStd::new(n), x)), &|n| n - 1),
            "highest" => window(
                self,
                &|n, x| Ok(Op::Extreme(Extreme::new(true, n), x)),
                &|n| n - 1,
            ),
            "lowest" => window(
                self,
                &|n, x| Ok(Op::Extreme(Extreme::new(false, n), x)),
                &|n| n - 1,
            ),
            "bb_upper" | "bb_middle" | "bb_lower" => {
                let x = self.typed(src, &args[0], Ty::Num)?;
                let n = self.const_int(src, &args[1], 1)?;
                let k = self.const_num(src, &args[2])?;
                let st = BollingerState::new(n, k, k).map_err(at)?;
                let (base, _) = self.node(
                    key("bb", &[x as u64, n as u64, k.to_bits()]),
                    Op::Bollinger(st, x),
                    3,
                    Ty::Num,
                    self.depth[x] + n - 1,
                    String::new(),
                );
                let i = ["bb_upper", "bb_middle", "bb_lower"]
                    .iter()
                    .position(|b| *b == name)
                    .unwrap_or(0);
                self.show[base + i] =
                    self.shown(format_args!("{name}({}, {n}, {k})", self.show[x]));
                Ok((base + i, Ty::Num))
            }
            "macd" | "macd_signal" | "macd_hist" => {
                let x = self.typed(src, &args[0], Ty::Num)?;
                let f = self.const_int(src, &args[1], 1)?;
                let s = self.const_int(src, &args[2], 1)?;
                let g = self.const_int(src, &args[3], 1)?;
                let st = MacdState::new(f, s, g).map_err(at)?;
                let (base, _) = self.node(
                    key("macd", &[x as u64, f as u64, s as u64, g as u64]),
                    Op::Macd(st, x),
                    3,
                    Ty::Num,
                    self.depth[x] + s + g - 2,
                    String::new(),
                );
                let i = ["macd", "macd_signal", "macd_hist"]
                    .iter()
                    .position(|b| *b == name)
                    .unwrap_or(0);
                self.show[base + i] =
                    self.shown(format_args!("{name}({}, {f}, {s}, {g})", self.show[x]));
                Ok((base + i, Ty::Num))
            }
            "atr" => {
                let n = self.const_int(src, &args[0], 1)?;
                Ok((self.atr_node(n).map_err(at)?, Ty::Num))
            }
            "adx" | "plus_di" | "minus_di" => {
                let n = self.const_int(src, &args[0], 2)?;
                let st = AdxState::new(n).map_err(at)?;
                let (base, _) = self.node(
                    key("adx", &[n as u64]),
                    Op::Adx(st),
                    3,
                    Ty::Num,
                    2 * n - 1,
                    String::new(),
                );
                let i = ["adx", "plus_di", "minus_di"]
                    .iter()
                    .position(|b| *b == name)
                    .unwrap_or(0);
                self.show[base + i] = self.shown(format_args!("{name}({n})"));
                Ok((base + i, Ty::Num))
            }
            "stoch_k" | "stoch_d" => {
                let a = self.const_int(src, &args[0], 1)?;
                let b = self.const_int(src, &args[1], 1)?;
                let d = self.const_int(src, &args[2], 1)?;
                let st = StochState::new(a, b, d).map_err(at)?;
                let (base, _) = self.node(
                    key("stoch", &[a as u64, b as u64, d as u64]),
                    Op::Stoch(st),
                    2,
                    Ty::Num,
                    a + b + d - 3,
                    String::new(),
                );
                let i = usize::from(name == "stoch_d");
                self.show[base + i] = self.shown(format_args!("{name}({a}, {b}, {d})"));
                Ok((base + i, Ty::Num))
            }
            "obv" => Ok(self.node(
                key("obv", &[]),
                Op::Obv(ObvState::new()),
                1,
                Ty::Num,
                0,
                "obv()".into(),
            )),
            "crossover" | "crossunder" => {
                let a = self.typed(src, &args[0], Ty::Num)?;
                let b = self.typed(src, &args[1], Ty::Num)?;
                let up = name == "crossover";
                let depth = self.depth[a].max(self.depth[b]) + 1;
                let show = self.shown(format_args!("{name}({}, {})", self.show[a], self.show[b]));
                Ok(self.node(
                    key(static_name(name), &[a as u64, b as u64]),
                    Op::Cross(Cross {
                        up,
                        a,
                        b,
                        prev: None,
                    }),
                    1,
                    Ty::Bool,
                    depth,
                    show,
                ))
            }
            "rising" | "falling" => {
                let x = self.typed(src, &args[0], Ty::Num)?;
                let n = self.const_int(src, &args[1], 1)?;
                let run = Run {
                    up: name == "rising",
                    n,
                    src: x,
                    prev: f64::NAN,
                    count: 0,
                };
                let show = self.shown(format_args!("{name}({}, {n})", self.show[x]));
                Ok(self.node(
                    key(static_name(name), &[x as u64, n as u64]),
                    Op::Run(run),
                    1,
                    Ty::Bool,
                    self.depth[x] + n,
                    show,
                ))
            }
            "abs" => {
                let x = self.typed(src, &args[0], Ty::Num)?;
                Ok(self.node(
                    key("abs", &[x as u64]),
                    Op::Abs(x),
                    1,
                    Ty::Num,
                    self.depth[x],
                    self.shown(format_args!("abs({})", self.show[x])),
                ))
            }
            "min" | "max" => {
                let a = self.typed(src, &args[0], Ty::Num)?;
                let b = self.typed(src, &args[1], Ty::Num)?;
                let bin = if name == "min" { Bin::Min } else { Bin::Max };
                let depth = self.depth[a].max(self.depth[b]);
                let show = self.shown(format_args!("{name}({}, {})", self.show[a], self.show[b]));
                Ok(self.node(
                    key("bin", &[bin as u64, a as u64, b as u64]),
                    bin.op(a, b),
                    1,
                    Ty::Num,
                    depth,
                    show,
                ))
            }
            "ml_proba" | "series" | "feature" => {
                let s = self.string(src, &args[0])?;
                let r = match name {
                    "ml_proba" => Reference::MlProba(s),
                    "series" => Reference::Series(s),
                    _ => {
                        let (view, column) = s.split_once('.').unwrap_or(("technical", &s));
                        if !crate::rules::is_name(view) || !crate::rules::is_name(column) {
                            return Err(src.err(
                                args[0].span(),
                                "a feature is \"column\" (of the technical view) or \"view.column\"",
                            ));
                        }
                        Reference::Feature {
                            view: view.to_string(),
                            column: column.to_string(),
                        }
                    }
                };
                let show = self.shown(format_args!("{name}({:?})", r.series_name()));
                let i = self.external(r);
                Ok(self.node(key("ext", &[i as u64]), Op::Ext(i), 1, Ty::Num, 0, show))
            }
            "in_regime" | "regime_prob" => {
                let model = self.string(src, &args[0])?;
                let label = self.string(src, &args[1])?;
                let Some(code) = REGIME_LABELS.iter().position(|l| *l == label) else {
                    return Err(src.err(
                        args[1].span(),
                        format!(
                            "unknown regime {label:?}; the regimes are {}",
                            REGIME_LABELS.join(", ")
                        ),
                    ));
                };
                let show = self.shown(format_args!("{name}({model:?}, {label:?})"));
                if name == "regime_prob" {
                    let i = self.external(Reference::RegimeProb { model, label });
                    return Ok(self.node(key("ext", &[i as u64]), Op::Ext(i), 1, Ty::Num, 0, show));
                }
                let i = self.external(Reference::Regime(model));
                Ok(self.node(
                    key("regime", &[i as u64, code as u64]),
                    Op::CodeIs(i, code as f64),
                    1,
                    Ty::Bool,
                    0,
                    show,
                ))
            }
            _ => Err(src.err(name_span, format!("unknown function `{name}`"))),
        }
    }
}

/// The `'static` name of a known function (the call was checked against [`FUNCTIONS`]).
fn static_name(name: &str) -> &'static str {
    FUNCTIONS
        .iter()
        .find(|(n, _)| *n == name)
        .map_or("?", |(n, _)| *n)
}

/// Every function with its number of arguments.
pub const FUNCTIONS: &[(&str, usize)] = &[
    ("sma", 2),
    ("mean", 2),
    ("ema", 2),
    ("wma", 2),
    ("rsi", 2),
    ("roc", 2),
    ("mom", 2),
    ("zscore", 2),
    ("std", 2),
    ("highest", 2),
    ("lowest", 2),
    ("bb_upper", 3),
    ("bb_middle", 3),
    ("bb_lower", 3),
    ("macd", 4),
    ("macd_signal", 4),
    ("macd_hist", 4),
    ("atr", 1),
    ("adx", 1),
    ("plus_di", 1),
    ("minus_di", 1),
    ("stoch_k", 3),
    ("stoch_d", 3),
    ("obv", 0),
    ("crossover", 2),
    ("crossunder", 2),
    ("rising", 2),
    ("falling", 2),
    ("abs", 1),
    ("min", 2),
    ("max", 2),
    ("ml_proba", 1),
    ("feature", 1),
    ("in_regime", 2),
    ("regime_prob", 2),
    ("series", 1),
];

fn arity(name: &str) -> Option<usize> {
    FUNCTIONS.iter().find(|(n, _)| *n == name).map(|(_, a)| *a)
}
