use leptos::prelude::*;
use leptos_meta::Title;

use crate::workspace::get_pipelines;

#[component]
pub fn PipelinePage() -> impl IntoView {
    let pipelines = Resource::new(|| (), |_| get_pipelines());
    view! {
        <Title text="Pipeline"/>
        <section class="page">
            <header class="page-head"><h1>"Pipeline"</h1></header>
            <Suspense fallback=|| view! { <p class="muted">"Loading the board…"</p> }>
                {move || Suspend::new(async move {
                    match pipelines.await {
                        Ok(list) => list.into_iter().next().map(|p| view! {
                            <h2 class="pipeline-name">{p.name}</h2>
                            <div class="board" role="list">
                                {p.stages.into_iter().map(|s| view! {
                                    <section class="column" role="listitem" data-kind=s.kind.as_str()>
                                        <header class="column-head">
                                            <span class="column-name">{s.name}</span>
                                            <span class="column-meta">{format!("{} %", s.probability)}</span>
                                        </header>
                                        <p class="muted column-empty">"No deals"</p>
                                    </section>
                                }).collect_view()}
                            </div>
                        }.into_any()).unwrap_or_else(|| view! { <p class="muted">"This workspace has no pipeline."</p> }.into_any()),
                        Err(e) => view! { <p class="form-error" role="alert">{e.message}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}
