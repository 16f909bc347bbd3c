//! `/settings/pipelines` (admins): the workspace's pipelines and their stages. Create, rename and delete pipelines;
//! add, rename and reorder stages (drag a row by its handle, or use the arrows: they are buttons, so the keyboard
//! reorders too); set a stage's default probability and rot days. Deleting a stage asks where its deals go.

use clearview::domain::{StageId, StageKind};
use clearview::model::{Pipeline, Stage};
use clearview::policy::Action;
use leptos::prelude::*;
use leptos_meta::Title;

use super::settings::SettingsNav;
use crate::components::{FormError, can};
use crate::form::{PostAction, PostForm};
use crate::pipelines::{
    AddStage, CreatePipeline, DeletePipeline, MoveStage, RemoveStage, RenamePipeline, SaveStage,
};
use crate::resource::resource;
use crate::workspace::get_pipelines;

/// Every action of the page, so that any of them refreshes the list and shows its error.
#[derive(Clone, Copy)]
struct Actions {
    create: PostAction<CreatePipeline>,
    rename: PostAction<RenamePipeline>,
    delete: PostAction<DeletePipeline>,
    add: PostAction<AddStage>,
    save: PostAction<SaveStage>,
    moved: PostAction<MoveStage>,
    remove: PostAction<RemoveStage>,
}

impl Actions {
    fn version(self) -> usize {
        self.create.version().get()
            + self.rename.version().get()
            + self.delete.version().get()
            + self.add.version().get()
            + self.save.version().get()
            + self.moved.version().get()
            + self.remove.version().get()
    }

    /// The newest error of any action, field errors named by field.
    fn error(self) -> Option<String> {
        let describe = |e: crate::error::ApiError| {
            if e.fields.is_empty() {
                e.message
            } else {
                e.fields
                    .iter()
                    .map(|(f, m)| format!("{}: {m}", f.replace('_', " ")))
                    .collect::<Vec<_>>()
                    .join("; ")
            }
        };
        [
            self.create.value().get().and_then(|r| r.err()),
            self.rename.value().get().and_then(|r| r.err()),
            self.delete.value().get().and_then(|r| r.err()),
            self.add.value().get().and_then(|r| r.err()),
            self.save.value().get().and_then(|r| r.err()),
            self.moved.value().get().and_then(|r| r.err()),
            self.remove.value().get().and_then(|r| r.err()),
        ]
        .into_iter()
        .flatten()
        .next()
        .map(describe)
    }
}

#[component]
pub fn PipelinesPage() -> impl IntoView {
    let actions = Actions {
        create: PostAction::new(),
        rename: PostAction::new(),
        delete: PostAction::new(),
        add: PostAction::new(),
        save: PostAction::new(),
        moved: PostAction::new(),
        remove: PostAction::new(),
    };
    let pipelines = resource(move || actions.version(), |_| get_pipelines());
    let error = Signal::derive(move || actions.error());
    if !can(Action::ConfigurePipelines) {
        return view! {
            <Title text="Pipelines"/>
            <section class="page">
                <header class="page-head"><h1>"Pipelines"</h1></header>
                <SettingsNav/>
                <div class="card"><p>"Only the workspace's admins configure its pipelines."</p></div>
            </section>
        }
        .into_any();
    }
    view! {
        <Title text="Pipelines"/>
        <section class="page">
            <header class="page-head"><h1>"Pipelines"</h1></header>
            <SettingsNav/>
            // Sticky: the forms are long, and a refusal must be seen from the form that caused it.
            <div class="page-alert"><FormError message=error/></div>
            <Suspense fallback=|| view! { <p class="loading" aria-busy="true">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match pipelines.await {
                        Err(e) => view! { <p class="form-error" role="alert">{e.message}</p> }.into_any(),
                        Ok(list) => {
                            let only_one = list.len() == 1;
                            list.into_iter()
                                .map(|p| view! { <PipelineCard pipeline=p actions only_one/> })
                                .collect_view()
                                .into_any()
                        }
                    }
                })}
            </Suspense>
            <div class="card">
                <h2>"New pipeline"</h2>
                <p class="muted">"It starts with the six default stages, which you can then change."</p>
                <PostForm action=actions.create attr:class="form form-inline">
                    <label for="new-pipeline">"Name"</label>
                    <input id="new-pipeline" name="name" required/>
                    <button type="submit" class="btn">"Create pipeline"</button>
                </PostForm>
            </div>
        </section>
    }
    .into_any()
}

#[component]
fn PipelineCard(pipeline: Pipeline, actions: Actions, only_one: bool) -> impl IntoView {
    // Each form's children are a closure of their own: every value they show is cloned for it.
    let name = pipeline.name.clone();
    let (rename_id, delete_id) = (pipeline.id.to_string(), pipeline.id.to_string());
    let name_id = format!("pipeline-name-{rename_id}");
    let name_for = name_id.clone();
    let current = name.clone();
    let delete_label = format!("Delete pipeline {name}");
    let caption = format!("Stages of {name}");
    let stages = pipeline.stages.clone();
    let count = stages.len();
    // The stage being dragged, and the row it would land on.
    let dragging = RwSignal::new(None::<StageId>);
    let over = RwSignal::new(None::<usize>);
    let rows = stages
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let same_kind: Vec<Stage> = stages
                .iter()
                .filter(|o| o.id != s.id && o.kind == s.kind)
                .cloned()
                .collect();
            view! { <StageRow stage=s.clone() index=i count same_kind actions dragging over/> }
        })
        .collect_view();
    view! {
        <div class="card pipeline-settings" data-pipeline=name.clone()>
            <h2>{name.clone()}</h2>
            <div class="pipeline-actions">
                <PostForm action=actions.rename attr:class="form form-inline">
                    <input type="hidden" name="id" value=rename_id/>
                    <label for=name_for>"Pipeline name"</label>
                    <input id=name_id name="name" required value=current/>
                    <button type="submit" class="btn btn-small">"Rename"</button>
                </PostForm>
                {(!only_one).then(move || view! {
                    <PostForm action=actions.delete attr:class="form-inline">
                        <input type="hidden" name="id" value=delete_id/>
                        <button type="submit" class="btn btn-small btn-danger">{delete_label}</button>
                    </PostForm>
                })}
            </div>
            <div class="table-wrap">
            <table class="table stages-table">
                <caption class="visually-hidden">{caption}</caption>
                <thead><tr>
                    <th scope="col">"Order"</th>
                    <th scope="col">"Stage"</th>
                    <th scope="col">"Kind"</th>
                    <th scope="col"><span class="visually-hidden">"Delete"</span></th>
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
            </div>
            <AddStageForm pipeline=pipeline actions/>
        </div>
    }
}

#[component]
fn StageRow(
    stage: Stage,
    index: usize,
    count: usize,
    same_kind: Vec<Stage>,
    actions: Actions,
    dragging: RwSignal<Option<StageId>>,
    over: RwSignal<Option<usize>>,
) -> impl IntoView {
    let stage_id = stage.id;
    let id = stage.id.to_string();
    let open = stage.kind == StageKind::Open;
    let f = |what: &str| format!("stage-{what}-{id}");
    let (name_id, prob_id, rot_id, move_id) = (f("name"), f("probability"), f("rot"), f("move"));
    let (name_for, prob_for, rot_for, move_for) = (
        name_id.clone(),
        prob_id.clone(),
        rot_id.clone(),
        move_id.clone(),
    );
    let name = stage.name.clone();
    let (up_id, down_id, save_id, delete_id) = (id.clone(), id.clone(), id.clone(), id.clone());
    let up_label = format!("Move {name} up");
    let down_label = format!("Move {name} down");
    let save_label = format!("Save {name}");
    let delete_label = format!("Delete {name}");
    let current = name.clone();
    let probability = stage.probability.to_string();
    let rot = stage.rot_days.map(|d| d.to_string()).unwrap_or_default();
    let kind = match stage.kind {
        StageKind::Open => "Open",
        StageKind::Won => "Won",
        StageKind::Lost => "Lost",
    };
    let options = same_kind
        .into_iter()
        .map(|o| view! { <option value=o.id.to_string()>{o.name}</option> })
        .collect_view();
    view! {
        <tr data-stage=name
            class:dragging=move || dragging.get() == Some(stage_id)
            class:drop-target=move || over.get() == Some(index) && dragging.get().is_some_and(|d| d != stage_id)
            on:dragover=move |ev: web_sys::DragEvent| {
                if dragging.get_untracked().is_some() {
                    ev.prevent_default();
                    over.set(Some(index));
                }
            }
            on:drop=move |ev: web_sys::DragEvent| {
                ev.prevent_default();
                if let Some(moved) = dragging.get_untracked().filter(|d| *d != stage_id) {
                    actions.moved.send(&[("id", &moved.to_string()), ("position", &index.to_string())]);
                }
                dragging.set(None);
                over.set(None);
            }>
            <td class="row-actions">
                // The handle: dragging it moves the stage to the row it is dropped on.
                <span class="drag-handle" draggable="true" title="Drag to reorder" aria-hidden="true"
                    on:dragstart=move |ev: web_sys::DragEvent| {
                        if let Some(dt) = ev.data_transfer() {
                            let _ = dt.set_data("text/plain", &stage_id.to_string());
                            dt.set_effect_allowed("move");
                        }
                        dragging.set(Some(stage_id));
                    }
                    on:dragend=move |_| {
                        dragging.set(None);
                        over.set(None);
                    }>"⠿"</span>
                <PostForm action=actions.moved attr:class="form-inline">
                    <input type="hidden" name="id" value=up_id/>
                    <input type="hidden" name="position" value=index.saturating_sub(1).to_string()/>
                    <button type="submit" class="btn btn-small" disabled={index == 0} aria-label=up_label>"↑"</button>
                </PostForm>
                <PostForm action=actions.moved attr:class="form-inline">
                    <input type="hidden" name="id" value=down_id/>
                    <input type="hidden" name="position" value=(index + 1).to_string()/>
                    <button type="submit" class="btn btn-small" disabled={index + 1 >= count} aria-label=down_label>"↓"</button>
                </PostForm>
            </td>
            <td>
                <PostForm action=actions.save attr:class="form stage-form">
                    <input type="hidden" name="id" value=save_id/>
                    <label for=name_for>"Name"</label>
                    <input id=name_id name="name" required value=current/>
                    <label for=prob_for>"Default probability (%)"</label>
                    {if open {
                        view! { <input id=prob_id name="probability" type="number" min="0" max="100" step="1" value=probability/> }.into_any()
                    } else {
                        view! { <input id=prob_id type="number" value=probability disabled=true/> }.into_any()
                    }}
                    <label for=rot_for>"Stale after (days, blank for never)"</label>
                    <input id=rot_id name="rot_days" type="number" min="1" max="3650" step="1" value=rot/>
                    <button type="submit" class="btn btn-small">{save_label}</button>
                </PostForm>
            </td>
            <td>{kind}</td>
            <td>
                <PostForm action=actions.remove attr:class="form stage-delete">
                    <input type="hidden" name="id" value=delete_id/>
                    <label for=move_for>"Its deals go to"</label>
                    <select id=move_id name="move_to">
                        <option value="">"(it holds none)"</option>
                        {options}
                    </select>
                    <button type="submit" class="btn btn-small btn-danger">{delete_label}</button>
                </PostForm>
            </td>
        </tr>
    }
}

#[component]
fn AddStageForm(pipeline: Pipeline, actions: Actions) -> impl IntoView {
    let id = pipeline.id.to_string();
    let f = |what: &str| format!("new-stage-{what}-{id}");
    let (name_id, kind_id, prob_id, rot_id) = (f("name"), f("kind"), f("probability"), f("rot"));
    let (name_for, kind_for, prob_for, rot_for) = (
        name_id.clone(),
        kind_id.clone(),
        prob_id.clone(),
        rot_id.clone(),
    );
    let heading = format!("Add a stage to {}", pipeline.name);
    view! {
        <PostForm action=actions.add attr:class="form add-stage">
            <h3>{heading}</h3>
            <input type="hidden" name="pipeline_id" value=id/>
            <label for=name_for>"New stage name"</label>
            <input id=name_id name="name" required/>
            <label for=kind_for>"Kind"</label>
            <select id=kind_id name="kind">
                <option value="open" selected=true>"Open"</option>
                <option value="won">"Won"</option>
                <option value="lost">"Lost"</option>
            </select>
            <label for=prob_for>"Default probability (%) of an open stage"</label>
            <input id=prob_id name="probability" type="number" min="0" max="100" step="1" placeholder="10"/>
            <label for=rot_for>"Stale after (days, blank for never)"</label>
            <input id=rot_id name="rot_days" type="number" min="1" max="3650" step="1"/>
            <p class="muted">"A stage's kind is chosen when it is added: a won stage counts its deals as won (100 %), a lost one as lost (0 %)."</p>
            <button type="submit" class="btn">"Add stage"</button>
        </PostForm>
    }
}
