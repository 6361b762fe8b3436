//! The `#[track_latency]` attribute of [hotmetrics](https://docs.rs/hotmetrics).
//!
//! Use it through `hotmetrics::track_latency` (the `macros` feature of
//! `hotmetrics`, on by default), which documents it. The code it generates
//! calls into `::hotmetrics::__private`, so this crate is of no use without
//! `hotmetrics` as a direct dependency of the crate using the attribute.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(rust_2018_idioms, unreachable_pub)]

mod derive;
// The name rules are `hotmetrics`' own file, compiled here as well (see its
// top for why); the sanitising half of it serves only the library.
#[allow(dead_code)]
#[path = "../../src/names.rs"]
mod names;

use names::NameKind;

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{quote, ToTokens};
use syn::ext::IdentExt;
use syn::meta::ParseNestedMeta;
use syn::parse::Parser;
use syn::spanned::Spanned;
use syn::{parse_quote, Expr, ExprLit, Ident, Item, ItemFn, Lit, LitStr, Stmt};

/// # Expansion
///
/// The signature is kept as written, and the body becomes
///
/// ```text
/// {
///     static __HOTMETRICS_HISTOGRAM: LazyLock<Site> = LazyLock::new(|| {
///         latency_site(<registry>, SiteInfo { name, help, function }, &[<keys>], &[<values>])
///     });
///     let __hotmetrics_timer = __HOTMETRICS_HISTOGRAM.start_timer();
///     <the original statements>
/// }
/// ```
///
/// with every path spelled out in full (`::hotmetrics::__private::LazyLock`,
/// `::hotmetrics::__private::latency_site`, …); `<registry>` is the
/// `registry = ...` expression, or `::hotmetrics::__private::default_registry()`.
/// The timer binding is hygienic: the body can neither name nor shadow it.
/// On invalid arguments or items, the item is emitted unchanged next to the
/// `compile_error!`, so the only errors are the attribute's.
#[proc_macro_attribute]
pub fn track_latency(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand(attr.into(), item.into()).into()
}

/// `name` and `help`, as written in the attribute.
/// Implements `hotmetrics::LabelValue` for an enum whose variants have no
/// fields: each variant's label value is its name in snake case
/// (`CacheHit` → `"cache_hit"`), or the string given with
/// `#[label = "..."]`. Use it through `hotmetrics::LabelValue`.
#[proc_macro_derive(LabelValue, attributes(label))]
pub fn derive_label_value(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    derive::label_value(input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Implements `hotmetrics::LabelValues`, `LabelShape`, `FixedShape` and
/// `Labels` for a struct with named fields, each a
/// `hotmetrics::ToLabelValue`: the values are the fields in order, the label
/// names the field names (or `#[label = "..."]`), also given as the
/// associated constant `LABEL_NAMES`. A family typed by the struct takes it
/// and nothing else. Use it through `hotmetrics::Labels`.
#[proc_macro_derive(Labels, attributes(label))]
pub fn derive_labels(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    derive::labels(input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

#[derive(Default)]
struct Args {
    name: Option<LitStr>,
    help: Option<LitStr>,
    /// `labels(key = "value", ...)`: fixed labels of the function's series.
    labels: Option<Vec<(Ident, LitStr)>>,
    /// `outcome`: an `outcome` label, `ok`/`err` from the returned `Result`
    /// (`panic` when the function unwinds).
    outcome: bool,
    /// `registry = EXPR`: the registry to record into (`global()` if not
    /// given), evaluated once, on the first call.
    registry: Option<Expr>,
}

fn expand(attr: TokenStream2, item: TokenStream2) -> TokenStream2 {
    let args = parse_args(attr);
    let func = parse_fn(item.clone());
    let result = match (args, func) {
        (Ok(args), Ok(func)) => instrument(args, func),
        (Err(mut e), Err(e2)) => {
            e.combine(e2);
            Err(e)
        }
        (Err(e), _) | (_, Err(e)) => Err(e),
    };
    match result {
        Ok(tokens) => tokens,
        // Keep the item as written, so the only errors are ours (and not,
        // say, "cannot find function" wherever it is called).
        Err(e) => {
            let mut tokens = e.to_compile_error();
            tokens.extend(item);
            tokens
        }
    }
}

fn parse_args(attr: TokenStream2) -> syn::Result<Args> {
    let mut args = Args::default();
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("name") {
            let lit = string_value(&meta, "name", &args.name)?;
            if let Err(reason) = check_metric_name(&lit.value()) {
                return Err(syn::Error::new(
                    lit.span(),
                    format!(
                        "invalid metric name {:?}: {reason} (Prometheus metric names match \
                         `[a-zA-Z_:][a-zA-Z0-9_:]*` and must not start with `__`)",
                        lit.value()
                    ),
                ));
            }
            args.name = Some(lit);
            Ok(())
        } else if meta.path.is_ident("help") {
            args.help = Some(string_value(&meta, "help", &args.help)?);
            Ok(())
        } else if meta.path.is_ident("labels") {
            if args.labels.is_some() {
                return Err(meta.error("`labels` is given more than once"));
            }
            let mut labels: Vec<(Ident, LitStr)> = Vec::new();
            meta.parse_nested_meta(|label| {
                let key = label.path.get_ident().cloned().ok_or_else(|| {
                    label.error("a label name is a plain identifier, e.g. `table = \"users\"`")
                })?;
                let name = key.unraw().to_string();
                if let Err(reason) = check_label_name(&name) {
                    return Err(syn::Error::new(
                        key.span(),
                        format!("invalid label name {name:?}: {reason}"),
                    ));
                }
                if name == "outcome" {
                    return Err(syn::Error::new(
                        key.span(),
                        "`outcome` is the label the `outcome` flag adds; choose another name",
                    ));
                }
                if labels.iter().any(|(k, _)| k.unraw() == name) {
                    return Err(label.error(format!("label `{name}` is given more than once")));
                }
                let value = match label.value()?.parse::<Expr>()? {
                    Expr::Lit(ExprLit {
                        lit: Lit::Str(lit), ..
                    }) => lit,
                    other => {
                        return Err(syn::Error::new_spanned(
                            other,
                            format!("the value of label `{name}` must be a string literal"),
                        ))
                    }
                };
                labels.push((key, value));
                Ok(())
            })?;
            if labels.is_empty() {
                return Err(meta.error("`labels(...)` needs at least one `key = \"value\"`"));
            }
            args.labels = Some(labels);
            Ok(())
        } else if meta.path.is_ident("registry") {
            if args.registry.is_some() {
                return Err(meta.error("`registry` is given more than once"));
            }
            args.registry = Some(meta.value()?.parse::<Expr>()?);
            Ok(())
        } else if meta.path.is_ident("outcome") {
            if args.outcome {
                return Err(meta.error("`outcome` is given more than once"));
            }
            if !meta.input.is_empty() && !meta.input.peek(syn::Token![,]) {
                return Err(meta.error("`outcome` takes no value"));
            }
            args.outcome = true;
            Ok(())
        } else {
            let key = meta.path.to_token_stream().to_string().replace(' ', "");
            Err(meta.error(format!(
                "unknown argument `{key}`; expected `name = \"...\"`, `help = \"...\"`, \
                 `labels(key = \"value\", ...)`, `outcome` or `registry = <expression>`"
            )))
        }
    });
    parser.parse2(attr)?;
    Ok(args)
}

/// The string literal after `key =`; an error if `key` was given already or
/// the value is anything but a string literal.
fn string_value(
    meta: &ParseNestedMeta<'_>,
    key: &str,
    previous: &Option<LitStr>,
) -> syn::Result<LitStr> {
    if previous.is_some() {
        return Err(meta.error(format!("`{key}` is given more than once")));
    }
    match meta.value()?.parse::<Expr>()? {
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) => Ok(lit),
        other => Err(syn::Error::new_spanned(
            other,
            format!(
                "`{key}` must be a string literal, e.g. `{key} = \"{}\"` \
                 (constants and macros are not expanded here)",
                if key == "name" {
                    "db_query_duration"
                } else {
                    "Latency of database queries"
                }
            ),
        )),
    }
}

/// Checks `name` against the Prometheus data model, as the registry does at
/// run time: `[a-zA-Z_:][a-zA-Z0-9_:]*`, not starting with `__`.
fn check_metric_name(name: &str) -> Result<(), &'static str> {
    names::check(name, NameKind::Metric)
}

/// Label names as the registry checks them for a histogram family:
/// `[a-zA-Z_][a-zA-Z0-9_]*`, not starting with `__`, not `le` or `quantile`
/// (bucket and summary labels) or `overflow` (the overflow series).
fn check_label_name(name: &str) -> Result<(), &'static str> {
    names::check(name, NameKind::Label)?;
    match names::reserved_label(name, true) {
        Some(reason) => Err(reason),
        None => Ok(()),
    }
}

/// The item as a function with a body that can be timed.
fn parse_fn(item: TokenStream2) -> syn::Result<ItemFn> {
    match syn::parse2::<Item>(item.clone()) {
        Ok(Item::Fn(f)) => match f.sig.constness {
            Some(c) => Err(syn::Error::new(
                c.span,
                "`#[track_latency]` cannot be applied to a `const fn`: reading the clock and \
                 recording are not possible in const evaluation",
            )),
            None => Ok(f),
        },
        Ok(Item::Verbatim(_)) | Err(_) => match syn::parse2::<syn::TraitItemFn>(item) {
            // `fn f(&self);` in a trait (or `fn f();` in an extern block).
            Ok(f) if f.default.is_none() => Err(syn::Error::new_spanned(
                &f.sig,
                "`#[track_latency]` needs a function body to time; put it on the \
                 implementations of this method instead",
            )),
            _ => Err(syn::Error::new(
                Span::call_site(),
                "`#[track_latency]` can only be applied to a `fn` or `async fn`",
            )),
        },
        Ok(other) => Err(not_a_function(&other)),
    }
}

fn not_a_function(item: &Item) -> syn::Error {
    let (span, what) = match item {
        Item::Struct(i) => (i.struct_token.span, "a struct"),
        Item::Enum(i) => (i.enum_token.span, "an enum"),
        Item::Union(i) => (i.union_token.span, "a union"),
        Item::Const(i) => (i.const_token.span, "a constant"),
        Item::Static(i) => (i.static_token.span, "a static"),
        Item::Impl(i) => (i.impl_token.span, "an impl block (put it on its methods)"),
        Item::Trait(i) => (i.trait_token.span, "a trait"),
        Item::TraitAlias(i) => (i.trait_token.span, "a trait alias"),
        Item::Mod(i) => (i.mod_token.span, "a module"),
        Item::Type(i) => (i.type_token.span, "a type alias"),
        Item::Use(i) => (i.use_token.span, "a use declaration"),
        Item::ExternCrate(i) => (i.extern_token.span, "an extern crate declaration"),
        Item::ForeignMod(i) => (i.abi.extern_token.span, "an extern block"),
        Item::Macro(i) => (i.mac.path.span(), "a macro invocation"),
        _ => (item.span(), "this item"),
    };
    syn::Error::new(
        span,
        format!("`#[track_latency]` can only be applied to a `fn` or `async fn`, not to {what}"),
    )
}

fn instrument(args: Args, mut func: ItemFn) -> syn::Result<TokenStream2> {
    let fn_name = func.sig.ident.unraw().to_string();
    let name = match args.name {
        Some(lit) => lit,
        None => {
            let name = format!("{fn_name}_duration");
            if let Err(reason) = check_metric_name(&name) {
                return Err(syn::Error::new(
                    func.sig.ident.span(),
                    format!(
                        "the default metric name {name:?} (the function's name followed by \
                         `_duration`) is not a valid Prometheus metric name: {reason}; \
                         give one with `#[track_latency(name = \"...\")]`"
                    ),
                ));
            }
            LitStr::new(&name, func.sig.ident.span())
        }
    };
    let help = args
        .help
        .unwrap_or_else(|| LitStr::new(&format!("Latency of `{fn_name}`"), Span::call_site()));

    // Mixed-site hygiene: the body can neither name nor shadow the guard.
    let timer = Ident::new("__hotmetrics_timer", Span::mixed_site());
    let (keys, values): (Vec<LitStr>, Vec<&LitStr>) = args
        .labels
        .iter()
        .flatten()
        .map(|(k, v)| (LitStr::new(&k.unraw().to_string(), k.span()), v))
        .unzip();
    let registry: Expr = args
        .registry
        .unwrap_or_else(|| parse_quote! { ::hotmetrics::__private::default_registry() });
    let fn_lit = LitStr::new(&fn_name, func.sig.ident.span());
    let site: Expr = parse_quote! {
        ::hotmetrics::__private::SiteInfo {
            name: #name,
            help: #help,
            function: ::core::concat!(::core::module_path!(), "::", #fn_lit),
        }
    };
    let register = |f: Ident| -> Expr {
        parse_quote! {
            ::hotmetrics::__private::#f(#registry, #site, &[#(#keys),*], &[#(#values),*])
        }
    };
    if args.outcome {
        let register = register(Ident::new("outcome_site", Span::call_site()));
        return instrument_outcome(func, register, &timer);
    }
    // With labels: a histogram family, and the function's series bound once.
    let register = register(Ident::new("latency_site", Span::call_site()));
    let prologue: [Stmt; 2] = [
        // One registration per function, on its first call, shared by all
        // instantiations of a generic function (statics in generic
        // functions are not per instantiation).
        parse_quote! {
            static __HOTMETRICS_HISTOGRAM: ::hotmetrics::__private::LazyLock<
                ::hotmetrics::__private::Site,
            > = ::hotmetrics::__private::LazyLock::new(|| #register);
        },
        // Bound first, so dropped last: records on every way out of the
        // body (return, `?`, unwinding), after the body's own locals.
        parse_quote! {
            let #timer = ::hotmetrics::__private::Site::start_timer(&*__HOTMETRICS_HISTOGRAM);
        },
    ];
    let body = std::mem::take(&mut func.block.stmts);
    func.block.stmts = prologue.into_iter().chain(body).collect();
    Ok(quote!(#func))
}

/// `#[track_latency(outcome)]`: the body runs in a closure (an `async`
/// block for an `async fn`) so that its result, however it is left
/// (`return`, `?`, the tail expression), can be looked at before it is
/// returned; the guard records it as `ok` or `err`, or as `panic` if the
/// body unwinds.
fn instrument_outcome(
    mut func: ItemFn,
    register: Expr,
    timer: &Ident,
) -> syn::Result<TokenStream2> {
    let ret = match &func.sig.output {
        syn::ReturnType::Type(_, ty) => ty.clone(),
        syn::ReturnType::Default => {
            return Err(syn::Error::new(
                func.sig.ident.span(),
                "`outcome` labels a function's `Result` as ok or err, but this function \
                 returns `()`",
            ))
        }
    };
    if ret
        .to_token_stream()
        .into_iter()
        .any(|t| t.to_string() == "impl")
    {
        return Err(syn::Error::new_spanned(
            &ret,
            "`outcome` cannot name a return type containing `impl Trait`; return a \
             concrete type or drop `outcome`",
        ));
    }
    let result = Ident::new("__hotmetrics_result", Span::mixed_site());
    let body = std::mem::take(&mut func.block.stmts);
    // The `let` gives the closure's (or block's) returns the function's
    // return type, so `?` and `return` inside the body mean what they meant.
    let run: Expr = if func.sig.asyncness.is_some() {
        parse_quote! { async move { let #result: #ret = { #(#body)* }; #result }.await }
    } else {
        parse_quote! { (move || { let #result: #ret = { #(#body)* }; #result })() }
    };
    func.block.stmts = vec![
        parse_quote! {
            static __HOTMETRICS_OUTCOMES: ::hotmetrics::__private::LazyLock<
                ::hotmetrics::__private::OutcomeSite,
            > = ::hotmetrics::__private::LazyLock::new(|| #register);
        },
        parse_quote! {
            let #timer = ::hotmetrics::__private::OutcomeTimer::start(&*__HOTMETRICS_OUTCOMES);
        },
        parse_quote! { let #result: #ret = #run; },
        parse_quote! { #timer.finish(&#result); },
        Stmt::Expr(parse_quote! { #result }, None),
    ];
    Ok(quote!(#func))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand_str(attr: &str, item: &str) -> String {
        expand(attr.parse().unwrap(), item.parse().unwrap()).to_string()
    }

    #[test]
    fn metric_names() {
        for ok in ["a", "_x", ":x", "db_query_duration", "a:b_c9"] {
            assert_eq!(check_metric_name(ok), Ok(()), "{ok}");
        }
        for bad in ["", "9bad", "a-b", "a b", "é", "__x"] {
            assert!(check_metric_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn default_name_and_help() {
        let out = expand_str("", "fn r#query(x: u32) -> u32 { x }");
        assert!(out.contains("\"query_duration\""), "{out}");
        assert!(out.contains("\"Latency of `query`\""), "{out}");
        assert!(!out.contains("compile_error"), "{out}");
    }

    #[test]
    fn custom_name_and_help() {
        let out = expand_str(
            r#"name = "db_query_duration", help = "Query latency""#,
            "async fn query(&self) {}",
        );
        assert!(out.contains("\"db_query_duration\""), "{out}");
        assert!(out.contains("\"Query latency\""), "{out}");
        assert!(out.contains("async fn query (& self)"), "{out}");
    }

    #[test]
    fn labels_register_a_bound_series() {
        let out = expand_str(
            r#"name = "db_query_duration", labels(table = "users", r#type = "read")"#,
            "fn query() {}",
        );
        assert!(out.contains("latency_site"), "{out}");
        assert!(out.contains("[\"table\" , \"type\"]"), "{out}");
        assert!(out.contains("[\"users\" , \"read\"]"), "{out}");
        assert!(!out.contains("compile_error"), "{out}");
    }

    #[test]
    fn registry_is_the_given_expression_or_the_default() {
        let out = expand_str("registry = &*MY_REGISTRY", "fn f() {}");
        assert!(out.contains("latency_site (& * MY_REGISTRY"), "{out}");
        let out = expand_str("", "fn f() {}");
        assert!(out.contains("default_registry ()"), "{out}");
        let out = expand_str(
            "outcome, registry = mine()",
            "fn f() -> Result<(), ()> { Ok(()) }",
        );
        assert!(out.contains("outcome_site (mine ()"), "{out}");
    }

    #[test]
    fn errors_keep_the_item() {
        for (attr, item) in [
            ("name = \"9bad\"", "fn f() {}"),
            ("nmae = \"x\"", "fn f() {}"),
            ("name = 42", "fn f() {}"),
            ("labels(method)", "fn f() {}"),
            ("labels()", "fn f() {}"),
            ("labels(le = \"1\")", "fn f() {}"),
            ("labels(a = \"1\", a = \"2\")", "fn f() {}"),
            ("labels(a = 1)", "fn f() {}"),
            ("labels(a::b = \"1\")", "fn f() {}"),
            ("registry", "fn f() {}"),
            ("registry = a, registry = b", "fn f() {}"),
            ("outcome = \"x\"", "fn f() -> Result<(), ()> { Ok(()) }"),
            ("outcome", "fn f() {}"),
            ("outcome, outcome", "fn f() -> Result<(), ()> { Ok(()) }"),
            ("outcome", "fn f() -> Result<impl Clone, ()> { Ok(1) }"),
            ("labels(outcome = \"x\")", "fn f() {}"),
            ("name = \"a\", name = \"b\"", "fn f() {}"),
            ("", "const fn f() {}"),
            ("", "struct S;"),
            ("", "fn __hidden() {}"),
        ] {
            let out = expand_str(attr, item);
            assert!(out.contains("compile_error"), "{attr} {item}: {out}");
            assert!(
                !out.contains("__HOTMETRICS_HISTOGRAM") && !out.contains("__HOTMETRICS_OUTCOMES"),
                "{attr} {item}: {out}"
            );
        }
    }
}
