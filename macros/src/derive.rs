//! `#[derive(LabelValue)]` for fieldless enums and `#[derive(Labels)]` for
//! structs with named fields.

use proc_macro2::TokenStream as TokenStream2;
use quote::quote;
use syn::ext::IdentExt;
use syn::{Attribute, Data, DeriveInput, Expr, ExprLit, Fields, GenericParam, Lit, LitStr};

/// The `#[label = "..."]` rename on a variant or field, if any.
fn rename(attrs: &[Attribute]) -> syn::Result<Option<LitStr>> {
    let mut found = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident("label")) {
        if found.is_some() {
            return Err(syn::Error::new_spanned(attr, "`#[label]` is given twice"));
        }
        let value = &attr.meta.require_name_value()?.value;
        match value {
            Expr::Lit(ExprLit {
                lit: Lit::Str(lit), ..
            }) => found = Some(lit.clone()),
            other => {
                return Err(syn::Error::new_spanned(
                    other,
                    "expected a string literal: `#[label = \"...\"]`",
                ))
            }
        }
    }
    Ok(found)
}

/// `CacheHit` → `cache_hit`, `HTTP2` → `http2`.
fn snake_case(name: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = name.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let prev_lower = i > 0 && (chars[i - 1].is_lowercase() || chars[i - 1].is_numeric());
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if i > 0 && (prev_lower || (next_lower && chars[i - 1].is_uppercase())) {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

pub(crate) fn label_value(input: DeriveInput) -> syn::Result<TokenStream2> {
    let Data::Enum(data) = &input.data else {
        return Err(syn::Error::new_spanned(
            &input.ident,
            "`#[derive(LabelValue)]` is for enums whose variants have no fields; \
             implement `hotmetrics::LabelValue` by hand for other types",
        ));
    };
    let mut arms = Vec::new();
    for v in &data.variants {
        if !matches!(v.fields, Fields::Unit) {
            return Err(syn::Error::new_spanned(
                &v.fields,
                "`#[derive(LabelValue)]` needs variants without fields",
            ));
        }
        let value = match rename(&v.attrs)? {
            Some(lit) => lit,
            None => LitStr::new(&snake_case(&v.ident.unraw().to_string()), v.ident.span()),
        };
        let ident = &v.ident;
        arms.push(quote! { Self::#ident => #value, });
    }
    let name = &input.ident;
    let (impl_g, ty_g, where_c) = input.generics.split_for_impl();
    let body = if arms.is_empty() {
        quote! { match *self {} }
    } else {
        quote! { match self { #(#arms)* } }
    };
    Ok(quote! {
        impl #impl_g ::hotmetrics::LabelValue for #name #ty_g #where_c {
            #[inline]
            fn label_value(&self) -> &str {
                #body
            }
            #[inline]
            fn static_value(&self) -> ::core::option::Option<&'static str> {
                ::core::option::Option::Some(#body)
            }
        }
    })
}

pub(crate) fn labels(input: DeriveInput) -> syn::Result<TokenStream2> {
    let fields = match &input.data {
        Data::Struct(s) => match &s.fields {
            Fields::Named(f) if !f.named.is_empty() => &f.named,
            _ => {
                return Err(syn::Error::new_spanned(
                    &input.ident,
                    "`#[derive(Labels)]` needs a struct with named fields (the label names)",
                ))
            }
        },
        _ => {
            return Err(syn::Error::new_spanned(
                &input.ident,
                "`#[derive(Labels)]` is for structs with named fields",
            ))
        }
    };
    let mut names = Vec::new();
    let (mut arms, mut static_arms) = (Vec::new(), Vec::new());
    for (i, f) in fields.iter().enumerate() {
        let ident = f.ident.as_ref().expect("named fields have names");
        let name = match rename(&f.attrs)? {
            Some(lit) => lit,
            None => LitStr::new(&ident.unraw().to_string(), ident.span()),
        };
        if let Err(reason) = crate::check_label_name(&name.value()) {
            return Err(syn::Error::new(
                name.span(),
                format!("invalid label name {:?}: {reason}", name.value()),
            ));
        }
        if names.iter().any(|n: &LitStr| n.value() == name.value()) {
            return Err(syn::Error::new(
                name.span(),
                format!("label `{}` is given twice", name.value()),
            ));
        }
        arms.push(quote! {
            #i => ::hotmetrics::ToLabelValue::to_label_value(&self.#ident, buf),
        });
        static_arms.push(quote! {
            #i => ::hotmetrics::ToLabelValue::to_static_value(&self.#ident),
        });
        names.push(name);
    }
    let count = names.len();
    let name = &input.ident;
    let (impl_g, ty_g, where_c) = input.generics.split_for_impl();
    let (shape_impl_g, shape_ty, shape_where) = shape_of(&input);
    Ok(quote! {
        impl #impl_g ::hotmetrics::LabelValues for #name #ty_g #where_c {
            #[inline]
            fn label_count(&self) -> usize {
                #count
            }
            #[inline]
            fn value_at<'__hm>(
                &'__hm self,
                i: usize,
                buf: &'__hm mut ::hotmetrics::ValueBuf,
            ) -> &'__hm str {
                match i {
                    #(#arms)*
                    _ => "",
                }
            }
            #[inline]
            fn static_at(&self, i: usize) -> ::core::option::Option<&'static str> {
                match i {
                    #(#static_arms)*
                    _ => ::core::option::Option::None,
                }
            }
        }

        impl #impl_g #name #ty_g #where_c {
            /// The label names, in field order.
            pub const LABEL_NAMES: &'static [&'static str] = &[#(#names),*];
        }

        impl #shape_impl_g ::hotmetrics::LabelShape for #shape_ty #shape_where {
            const ARITY: ::core::option::Option<usize> = ::core::option::Option::Some(#count);
            const NAMES: ::core::option::Option<&'static [&'static str]> =
                ::core::option::Option::Some(&[#(#names),*]);
        }

        impl #shape_impl_g ::hotmetrics::FixedShape for #shape_ty #shape_where {}

        impl #impl_g ::hotmetrics::Labels<#shape_ty> for #name #ty_g #where_c {}

        impl #impl_g ::hotmetrics::Labels<::hotmetrics::Dyn> for #name #ty_g #where_c {}
    })
}

/// The type a family is typed by for struct `input`: the struct with its
/// lifetimes made `'static` (a family outlives any borrowed label value),
/// with the generics and bounds of its `LabelShape` impl.
fn shape_of(input: &DeriveInput) -> (TokenStream2, TokenStream2, TokenStream2) {
    let name = &input.ident;
    let mut params = Vec::new();
    let mut args = Vec::new();
    let mut bounds = Vec::new();
    for p in &input.generics.params {
        match p {
            GenericParam::Lifetime(_) => args.push(quote! { 'static }),
            GenericParam::Type(t) => {
                let ident = &t.ident;
                let own = &t.bounds;
                params.push(quote! { #ident: #own });
                bounds.push(quote! { #ident: 'static, });
                args.push(quote! { #ident });
            }
            GenericParam::Const(c) => {
                let (ident, ty) = (&c.ident, &c.ty);
                params.push(quote! { const #ident: #ty });
                args.push(quote! { #ident });
            }
        }
    }
    let extra = input.generics.where_clause.as_ref().map(|w| &w.predicates);
    let where_c = quote! { where #(#bounds)* #extra };
    if args.is_empty() {
        return (quote! {}, quote! { #name }, where_c);
    }
    (
        quote! { <#(#params),*> },
        quote! { #name<#(#args),*> },
        where_c,
    )
}

#[cfg(test)]
mod tests {
    use super::snake_case;

    #[test]
    fn snake_case_names() {
        for (from, to) in [
            ("Search", "search"),
            ("CacheHit", "cache_hit"),
            ("HalfOpen", "half_open"),
            ("HTTPError", "http_error"),
            ("Http2", "http2"),
            ("already_snake", "already_snake"),
            ("A", "a"),
        ] {
            assert_eq!(snake_case(from), to);
        }
    }
}
