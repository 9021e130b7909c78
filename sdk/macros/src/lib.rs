//! `#[tool]`: a ChatAI Edge tool from a function. Use it as `chatai_sdk::tool`; the SDK's
//! documentation has the examples.

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as Tokens};
use quote::{format_ident, quote};
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Attribute, Expr, FnArg, Ident, ItemFn, Lit, LitStr, Meta, Pat, Token, Type};

/// Turns `fn name(args…) -> Result<Output, ToolError>` into a tool: a unit struct named in
/// CamelCase (`count_words` → `CountWords`, for `export_tools!`), an arguments struct
/// (`CountWordsArgs`) with one field per parameter (its doc comment, `#[serde]` and
/// `#[schemars]` attributes carried over), and the `Tool` impl. The function's doc comment is
/// the description. A `&Context` parameter receives the call's context.
///
/// Options: `#[tool(name = "…", category = "…", dangerous)]`.
#[proc_macro_attribute]
pub fn tool(attr: TokenStream, item: TokenStream) -> TokenStream {
    let options = syn::parse_macro_input!(attr as Options);
    let function = syn::parse_macro_input!(item as ItemFn);
    expand(options, function)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// `name = "…"`, `category = "…"`, `dangerous`.
#[derive(Default)]
struct Options {
    name: Option<LitStr>,
    category: Option<LitStr>,
    dangerous: bool,
}

impl Parse for Options {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut options = Options::default();
        for meta in Punctuated::<Meta, Token![,]>::parse_terminated(input)? {
            match &meta {
                Meta::Path(path) if path.is_ident("dangerous") => options.dangerous = true,
                Meta::NameValue(pair) if pair.path.is_ident("name") => {
                    options.name = Some(string(&pair.value)?);
                }
                Meta::NameValue(pair) if pair.path.is_ident("category") => {
                    options.category = Some(string(&pair.value)?);
                }
                other => {
                    return Err(syn::Error::new_spanned(
                        other,
                        "expected `name = \"…\"`, `category = \"…\"` or `dangerous`",
                    ));
                }
            }
        }
        Ok(options)
    }
}

fn string(value: &Expr) -> syn::Result<LitStr> {
    match value {
        Expr::Lit(syn::ExprLit {
            lit: Lit::Str(text),
            ..
        }) => Ok(text.clone()),
        other => Err(syn::Error::new_spanned(other, "expected a string literal")),
    }
}

fn expand(options: Options, mut function: ItemFn) -> syn::Result<Tokens> {
    let description = doc_text(&function.attrs);
    if description.is_empty() {
        return Err(syn::Error::new_spanned(
            &function.sig.ident,
            "a #[tool] function needs a doc comment: it is the tool's description (the model \
             reads it to decide when to call the tool)",
        ));
    }
    let function_name = function.sig.ident.clone();
    let name = options
        .name
        .unwrap_or_else(|| LitStr::new(&function_name.to_string(), function_name.span()));
    let tool = Ident::new(
        &camel_case(&function_name.to_string()),
        function_name.span(),
    );
    let args = format_ident!("{}Args", tool);

    let mut fields = Vec::new();
    let mut passed = Vec::new();
    for input in &mut function.sig.inputs {
        let FnArg::Typed(param) = input else {
            return Err(syn::Error::new_spanned(
                input,
                "a #[tool] is a free function, not a method",
            ));
        };
        let attrs = std::mem::take(&mut param.attrs);
        if is_context(&param.ty) {
            passed.push(quote!(ctx));
            continue;
        }
        let Pat::Ident(binding) = &*param.pat else {
            return Err(syn::Error::new_spanned(
                &param.pat,
                "a #[tool] parameter must be a plain name (it becomes an argument's name)",
            ));
        };
        let field = &binding.ident;
        let ty = &param.ty;
        fields.push(quote! { #(#attrs)* pub #field: #ty, });
        passed.push(quote!(args.#field));
    }

    let vis = &function.vis;
    let category = match options.category {
        Some(category) => quote!(::core::option::Option::Some(#category)),
        None => quote!(::core::option::Option::None),
    };
    let dangerous = options.dangerous;
    let args_doc = LitStr::new(
        &format!("The arguments of [`{tool}`], one field per parameter of `{function_name}`."),
        Span::call_site(),
    );
    Ok(quote! {
        #function

        #[doc = #args_doc]
        #[derive(::chatai_sdk::serde::Deserialize, ::chatai_sdk::schemars::JsonSchema)]
        #[serde(crate = "::chatai_sdk::serde", deny_unknown_fields)]
        #[schemars(crate = "::chatai_sdk::schemars")]
        #vis struct #args {
            #(#fields)*
        }

        #[doc = #description]
        #vis struct #tool;

        impl ::chatai_sdk::Tool for #tool {
            const NAME: &'static str = #name;
            const DESCRIPTION: &'static str = #description;
            const CATEGORY: ::core::option::Option<&'static str> = #category;
            const DANGEROUS: bool = #dangerous;
            type Args = #args;

            fn call(
                args: #args,
                ctx: &::chatai_sdk::Context,
            ) -> ::core::result::Result<::chatai_sdk::Output, ::chatai_sdk::ToolError> {
                let _ = (&args, ctx);
                #function_name(#(#passed),*)
            }
        }
    })
}

/// The doc comment's lines, trimmed, joined by newlines.
fn doc_text(attrs: &[Attribute]) -> String {
    attrs
        .iter()
        .filter(|attr| attr.path().is_ident("doc"))
        .filter_map(|attr| match &attr.meta {
            Meta::NameValue(pair) => string(&pair.value).ok().map(|text| text.value()),
            _ => None,
        })
        .map(|line| line.trim().to_owned())
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_owned()
}

/// `&Context` (any path ending in `Context`).
fn is_context(ty: &Type) -> bool {
    match ty {
        Type::Reference(reference) => match &*reference.elem {
            Type::Path(path) => path
                .path
                .segments
                .last()
                .is_some_and(|segment| segment.ident == "Context"),
            _ => false,
        },
        _ => false,
    }
}

/// `count_words` → `CountWords`.
fn camel_case(snake: &str) -> String {
    snake
        .split('_')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
}
