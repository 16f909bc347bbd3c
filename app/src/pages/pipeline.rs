//! The pipeline kanban: a column per stage (won and lost included) with its count, total and weighted total; cards
//! that move by drag and drop or by a "Move to…" control; columns that load more as they scroll; and moves made by
//! others appearing live.

use clearview::domain::{DealId, PipelineId, StageId, StageKind};
use clearview::model::{Board, BoardColumn, Deal};
use clearview::policy::Action;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_meta::Title;
use leptos_router::NavigateOptions;
use leptos_router::components::Form;
use leptos_router::hooks::{use_navigate, use_query_map};

use crate::components::{Later, Missing, can, format_money};
use crate::deals::{BoardData, CreateDeal, get_board, more_deals, move_deal};
use crate::form::PostAction;
use crate::pages::contact::NewDeal;
use crate::resource::resource;

#[component]
pub fn PipelinePage() -> impl IntoView {
    let query = use_query_map();
    let pipeline = Memo::new(move |_| query.read().get("pipeline").unwrap_or_default());
    let data = resource(move || pipeline.get(), get_board);
    view! {
        <Title text="Pipeline"/>
        <section class="page page-wide">
            <Transition fallback=|| view! { <p class="muted">"Loading the board…"</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(data) => view! { <BoardView data/> }.into_any(),
                        Err(e) if e.code == crate::error::ErrorCode::NotFound => view! { <Missing what="Pipeline" back="/pipeline" back_label="Show the first pipeline"/> }.into_any(),
                        Err(e) => view! { <p class="form-error" role="alert">{e.message}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
    .into_any()
}

/// Where a card is asked to go: a stage, and the card it goes before or after there (neither: the column's end).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Move {
    deal: DealId,
    to: StageId,
    before: Option<DealId>,
    after: Option<DealId>,
}

impl Move {
    /// To the end of `to`.
    fn to_end(deal: DealId, to: StageId) -> Self {
        Self {
            deal,
            to,
            before: None,
            after: None,
        }
    }
}

/// A move waiting for the person's answer: the lost reason, or the confirmation of a win.
#[derive(Debug, Clone, PartialEq)]
struct Pending {
    deal: Deal,
    kind: StageKind,
    target: Move,
}

/// Where a dragged card would land: the column, and the card it would go before or after (none: the end).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct DropAt {
    stage: StageId,
    card: Option<DealId>,
    above: bool,
}

fn find_deal(board: &Board, id: DealId) -> Option<Deal> {
    board
        .stages
        .iter()
        .flat_map(|c| c.deals.iter())
        .find(|d| d.id == id)
        .cloned()
}

/// The card moved on screen at once: out of its column, into the target at the place asked for. The column
/// figures follow (the server's exact ones replace them when the move is confirmed).
fn apply_move(board: &mut Board, m: Move) {
    let Move {
        deal: id,
        to,
        before,
        after,
    } = m;
    let Some(mut deal) = find_deal(board, id) else {
        return;
    };
    let from = deal.stage_id;
    let weighted = |d: &Deal| i128::from(d.weighted_minor().unwrap_or(0));
    if let Some(col) = board.stages.iter_mut().find(|c| c.id == from) {
        col.deals.retain(|d| d.id != id);
        col.count -= 1;
        if deal.amount.map(|m| Some(m.currency)) == Some(col.currency) {
            col.total_minor -= i128::from(deal.amount.map_or(0, |m| m.amount_minor));
            col.weighted_minor -= weighted(&deal);
        }
    }
    let Some(col) = board.stages.iter_mut().find(|c| c.id == to) else {
        return;
    };
    if from != to {
        deal.stage_id = to;
        deal.stage_name = col.name.clone();
        deal.stage_kind = col.kind;
        deal.stale = false;
        if !deal.probability_explicit || col.kind != StageKind::Open {
            deal.probability = col.probability.clamp(0, 100) as u8;
        }
    }
    if deal.amount.map(|m| Some(m.currency)) == Some(col.currency) || col.currency.is_none() {
        if let Some(m) = deal.amount {
            col.currency = Some(m.currency);
            col.total_minor += i128::from(m.amount_minor);
        }
        col.weighted_minor += weighted(&deal);
    }
    col.count += 1;
    let at = before
        .and_then(|b| col.deals.iter().position(|d| d.id == b))
        .or_else(|| after.and_then(|a| col.deals.iter().position(|d| d.id == a).map(|i| i + 1)))
        .unwrap_or(col.deals.len());
    col.deals.insert(at, deal);
}

#[component]
fn BoardView(data: BoardData) -> impl IntoView {
    let BoardData { pipelines, board } = data;
    let pipeline_id = board.pipeline_id;
    let state = BoardState {
        pipeline_id,
        board: RwSignal::new(board),
        message: RwSignal::new(None),
        announce: RwSignal::new(String::new()),
        dragging: RwSignal::new(None),
        drop_at: RwSignal::new(None),
        pending: RwSignal::new(None),
        in_flight: RwSignal::new(0),
        reload_wanted: RwSignal::new(false),
    };
    let BoardState {
        board,
        message,
        announce,
        pending,
        ..
    } = state;
    let reload = move || state.reload();

    // Live: another person's move reloads this board (a short pause gathers a burst of changes into one reload).
    Effect::new(move |_| {
        use leptos::wasm_bindgen::JsCast;
        use leptos::wasm_bindgen::closure::Closure;
        let Ok(source) = web_sys::EventSource::new(&format!("/api/pipelines/{pipeline_id}/events"))
        else {
            return;
        };
        let timer = StoredValue::new(None::<TimeoutHandle>);
        let on_change =
            Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |_ev: web_sys::MessageEvent| {
                if let Some(h) = timer.get_value() {
                    h.clear();
                }
                timer.set_value(
                    set_timeout_with_handle(reload, std::time::Duration::from_millis(150)).ok(),
                );
            });
        // `ended`: the session or membership no longer allows this stream; the reload shows what does.
        for name in ["deal", "resync", "ended"] {
            let _ =
                source.add_event_listener_with_callback(name, on_change.as_ref().unchecked_ref());
        }
        let held = StoredValue::new_local(Some((source, on_change)));
        on_cleanup(move || {
            if let Some((source, _closure)) = held.try_update_value(|h| h.take()).flatten() {
                source.close();
            }
        });
    });

    let navigate = use_navigate();
    let several = pipelines.len() > 1;
    let choices: Vec<(PipelineId, String)> =
        pipelines.iter().map(|p| (p.id, p.name.clone())).collect();
    let create = PostAction::<CreateDeal>::new();
    let created = create.successes();
    Effect::new(move |prev: Option<u32>| {
        let n = created.get();
        if prev.is_some_and(|p| p != n) {
            reload();
        }
        n
    });

    let columns = move || board.with(|b| b.stages.iter().map(|c| c.id).collect::<Vec<_>>());
    let ctx = state;

    view! {
        <header class="page-head board-head">
            <h1>{move || board.with(|b| b.name.clone())}</h1>
            {several.then(|| view! {
                <Form method="GET" action="/pipeline" attr:class="pipeline-switcher">
                    <label for="pipeline-select">"Pipeline"</label>
                    <select id="pipeline-select" name="pipeline" on:change={
                        let navigate = navigate.clone();
                        move |ev| navigate(&format!("/pipeline?pipeline={}", event_target_value(&ev)), NavigateOptions::default())
                    }>
                        {choices.iter().map(|(id, name)| view! {
                            <option value=id.to_string() selected=*id == pipeline_id>{name.clone()}</option>
                        }).collect_view()}
                    </select>
                    <noscript><button type="submit" class="btn">"Show"</button></noscript>
                </Form>
            })}
            <Later><NewDeal pipelines=pipelines.clone() action=create/></Later>
        </header>
        <p class="visually-hidden" role="status" aria-live="polite">{move || announce.get()}</p>
        <Show when=move || message.get().is_some()>
            <div class="form-error board-message" role="alert">
                {move || message.get()}
                <button type="button" class="link" on:click=move |_| message.set(None)>"Dismiss"</button>
            </div>
        </Show>
        <div class="board" role="list" aria-label="Stages">
            <For each=columns key=|id| *id let:stage>
                <Column stage ctx/>
            </For>
        </div>
        <PendingDialog pending state/>
    }
    .into_any()
}

/// A board on screen: the board as last read (with moves shown before the server confirms them), what is being
/// dragged, the move waiting for an answer, and what the person is told. Every component of the board holds a copy.
#[derive(Clone, Copy)]
struct BoardState {
    pipeline_id: PipelineId,
    board: RwSignal<Board>,
    /// A refused move's explanation, shown until dismissed.
    message: RwSignal<Option<String>>,
    /// What a screen reader hears after a move.
    announce: RwSignal<String>,
    dragging: RwSignal<Option<DealId>>,
    drop_at: RwSignal<Option<DropAt>>,
    pending: RwSignal<Option<Pending>>,
    /// Moves on their way to the server: a reload meanwhile would show the card back in its old place.
    in_flight: RwSignal<u32>,
    reload_wanted: RwSignal<bool>,
}

impl BoardState {
    /// Reads the board again, unless a move is on its way (then once the last one is answered).
    fn reload(self) {
        if self.in_flight.get_untracked() > 0 {
            self.reload_wanted.set(true);
            return;
        }
        spawn_local(async move {
            if let Ok(d) = get_board(self.pipeline_id.to_string()).await
                && self.in_flight.get_untracked() == 0
            {
                self.board.set(d.board);
            }
        });
    }

    /// Every move starts here: a stage change to won or lost asks first.
    fn request(self, m: Move) {
        let b = self.board.get_untracked();
        let Some(deal) = find_deal(&b, m.deal) else {
            return;
        };
        let Some(col) = b.stages.iter().find(|c| c.id == m.to) else {
            return;
        };
        if deal.stage_id == m.to && m.before.is_none() && m.after.is_none() {
            return;
        }
        if deal.stage_id != m.to && col.kind != StageKind::Open {
            self.pending.set(Some(Pending {
                deal,
                kind: col.kind,
                target: m,
            }));
            return;
        }
        self.send(deal, m, String::new());
    }

    /// Shows the move at once and sends it; a refused move puts the card back and says why.
    fn send(self, deal: Deal, m: Move, lost_reason: String) {
        let snapshot = self.board.get_untracked();
        self.board.update(|b| apply_move(b, m));
        self.message.set(None);
        self.in_flight.update(|n| *n += 1);
        let stage_name = snapshot
            .stages
            .iter()
            .find(|c| c.id == m.to)
            .map(|c| c.name.clone())
            .unwrap_or_default();
        let id = |d: Option<DealId>| d.map(|d| d.to_string()).unwrap_or_default();
        spawn_local(async move {
            let result = move_deal(
                deal.id.to_string(),
                deal.version,
                m.to.to_string(),
                id(m.before),
                id(m.after),
                lost_reason,
            )
            .await;
            self.in_flight.update(|n| *n -= 1);
            match result {
                Ok(_) => self
                    .announce
                    .set(format!("{} moved to {stage_name}.", deal.title)),
                Err(e) => {
                    self.board.set(snapshot);
                    let text = if e.code == crate::error::ErrorCode::Conflict {
                        format!(
                            "“{}” was changed by someone else meanwhile, so it was not moved. The board now shows the latest.",
                            deal.title
                        )
                    } else {
                        format!("“{}” could not be moved: {}", deal.title, e.message)
                    };
                    self.message.set(Some(text));
                }
            }
            self.reload_wanted.set(false);
            self.reload();
        });
    }
}

/// What a card is re-rendered on: besides its version and stage, what it shows that changes without a new version —
/// the stale mark (an activity was logged, or time passed) and the contact's and owner's names (renamed, or the
/// contact deleted).
#[derive(Clone, PartialEq, Eq, Hash)]
struct CardKey {
    id: DealId,
    version: i32,
    stage: StageId,
    stale: bool,
    contact_name: Option<String>,
    owner_name: Option<String>,
}

fn card_key(d: &Deal) -> CardKey {
    CardKey {
        id: d.id,
        version: d.version,
        stage: d.stage_id,
        stale: d.stale,
        contact_name: d.contact_name.clone(),
        owner_name: d.owner_name.clone(),
    }
}

fn money_line(minor: i128, col: &BoardColumn) -> String {
    col.currency
        .map(|c| format_money(minor, c))
        .unwrap_or_else(|| "—".into())
}

#[component]
fn Column(stage: StageId, ctx: BoardState) -> impl IntoView {
    let BoardState {
        board,
        dragging,
        drop_at,
        pipeline_id,
        ..
    } = ctx;
    let col = Memo::new(move |_| board.with(|b| b.stages.iter().find(|c| c.id == stage).cloned()));
    let loading = RwSignal::new(false);
    let head = move || {
        col.get().map(|c| {
        let others = c.totals.iter().skip(1).map(|t| format_money(t.total_minor, t.currency)).collect::<Vec<_>>().join(" · ");
        view! {
            <header class="column-head">
                <div class="column-title">
                    <h2 class="column-name">{c.name.clone()}</h2>
                    <span class="column-count" title="Deals in this stage">{c.count}</span>
                </div>
                <dl class="column-figures">
                    <div><dt>"Total"</dt><dd class="column-total">{money_line(c.total_minor, &c)}</dd></div>
                    <div><dt>"Weighted"</dt><dd class="column-weighted">{money_line(c.weighted_minor, &c)}</dd></div>
                </dl>
                {(!others.is_empty()).then(|| view! { <p class="muted small">"Also " {others}</p> })}
            </header>
        }
    })
    };
    let kind = move || col.with(|c| c.as_ref().map(|c| c.kind.as_str()).unwrap_or("open"));
    let name = move || col.with(|c| c.as_ref().map(|c| c.name.clone()).unwrap_or_default());
    let cards = move || col.with(|c| c.as_ref().map(|c| c.deals.clone()).unwrap_or_default());
    let load_more = move || {
        let Some(cursor) = col.with_untracked(|c| c.as_ref().and_then(|c| c.next_cursor.clone()))
        else {
            return;
        };
        if loading.get_untracked() {
            return;
        }
        loading.set(true);
        spawn_local(async move {
            if let Ok(page) =
                more_deals(pipeline_id.to_string(), stage.to_string(), cursor.clone()).await
            {
                board.update(|b| {
                    if let Some(c) = b.stages.iter_mut().find(|c| c.id == stage)
                        && c.next_cursor.as_deref() == Some(cursor.as_str())
                    {
                        c.deals.extend(page.items);
                        c.next_cursor = page.next_cursor;
                    }
                });
            }
            loading.set(false);
        });
    };
    let on_drop = move |ev: web_sys::DragEvent| {
        ev.prevent_default();
        let (Some(id), target) = (dragging.get_untracked(), drop_at.get_untracked()) else {
            return;
        };
        dragging.set(None);
        drop_at.set(None);
        let (before, after) = match target {
            Some(DropAt {
                card: Some(card), ..
            }) if card == id => return,
            Some(DropAt {
                stage: s,
                card: Some(card),
                above,
            }) if s == stage => {
                if above {
                    (Some(card), None)
                } else {
                    (None, Some(card))
                }
            }
            // The empty end of a column: after its last card (within a column, the end is a real place).
            _ => (
                None,
                col.with_untracked(|c| {
                    c.as_ref()
                        .and_then(|c| c.deals.last().map(|d| d.id))
                        .filter(|last| *last != id)
                }),
            ),
        };
        ctx.request(Move {
            deal: id,
            to: stage,
            before,
            after,
        });
    };

    view! {
        // A div: a section may not be a list item (ARIA); the board is a list of its stages.
        <div class="column" role="listitem" data-kind=kind data-stage-id=stage.to_string()
            aria-label=name
            class:drop-target=move || drop_at.get().is_some_and(|d| d.stage == stage)
            on:dragover=move |ev: web_sys::DragEvent| {
                ev.prevent_default();
                if drop_at.get_untracked().is_none_or(|d| d.stage != stage || d.card.is_some()) {
                    drop_at.set(Some(DropAt { stage, card: None, above: false }));
                }
            }
            on:drop=on_drop>
            <Later>
            {head}
            <ul class="cards" role="list"
                on:scroll=move |ev| {
                    use leptos::wasm_bindgen::JsCast;
                    if let Some(el) = ev.target().and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                        && el.scroll_top() + el.client_height() + 200 >= el.scroll_height()
                    {
                        load_more();
                    }
                }>
                <For each=cards key=card_key let:deal>
                    <Card deal stage ctx/>
                </For>
                <li class="drop-end" aria-hidden="true" class:active=move || drop_at.get() == Some(DropAt { stage, card: None, above: false })></li>
            </ul>
            <Show when=move || col.with(|c| c.as_ref().is_some_and(|c| c.next_cursor.is_some()))>
                <button type="button" class="btn btn-small load-more" on:click=move |_| load_more() disabled=move || loading.get()>
                    {move || {
                        let (shown, count) = col.with(|c| c.as_ref().map(|c| (c.deals.len(), c.count)).unwrap_or_default());
                        if loading.get() { "Loading…".to_string() } else { format!("Show more ({shown} of {count})") }
                    }}
                </button>
            </Show>
            <Show when=move || col.with(|c| c.as_ref().is_some_and(|c| c.deals.is_empty()))>
                <p class="muted column-empty">"No deals"</p>
            </Show>
            </Later>
        </div>
    }
    .into_any()
}

#[component]
fn Card(deal: Deal, stage: StageId, ctx: BoardState) -> impl IntoView {
    let BoardState {
        board,
        dragging,
        drop_at,
        ..
    } = ctx;
    let id = deal.id;
    let stages = board.with_untracked(|b| {
        b.stages
            .iter()
            .map(|c| (c.id, c.name.clone()))
            .collect::<Vec<_>>()
    });
    let amount = deal
        .amount
        .map(|m| format_money(m.amount_minor, m.currency));
    let title = deal.title.clone();
    let own = deal
        .owner_id
        .is_some_and(|o| use_context::<crate::auth::Me>().is_some_and(|me| me.user.id == o));
    let can_move = can(Action::UpdateDeal { own });
    let select_ref = NodeRef::<leptos::html::Select>::new();
    view! {
        <li class="deal-card" class:stale=deal.stale class:dragging=move || dragging.get() == Some(id)
            draggable=if can_move { "true" } else { "false" }
            data-deal-id=id.to_string() data-version=deal.version.to_string()
            class:drop-above=move || drop_at.get() == Some(DropAt { stage, card: Some(id), above: true })
            class:drop-below=move || drop_at.get() == Some(DropAt { stage, card: Some(id), above: false })
            on:dragstart=move |ev: web_sys::DragEvent| {
                if let Some(dt) = ev.data_transfer() {
                    let _ = dt.set_data("text/plain", &id.to_string());
                    dt.set_effect_allowed("move");
                }
                dragging.set(Some(id));
            }
            on:dragend=move |_| {
                dragging.set(None);
                drop_at.set(None);
            }
            on:dragover=move |ev: web_sys::DragEvent| {
                use leptos::wasm_bindgen::JsCast;
                ev.prevent_default();
                ev.stop_propagation();
                let above = ev
                    .current_target()
                    .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                    .map(|el| {
                        let r = el.get_bounding_client_rect();
                        f64::from(ev.client_y()) < r.top() + r.height() / 2.0
                    })
                    .unwrap_or(true);
                let at = Some(DropAt { stage, card: Some(id), above });
                if drop_at.get_untracked() != at {
                    drop_at.set(at);
                }
            }>
            <div class="card-top">
                <a class="card-title" href=format!("/deals/{id}") draggable="false">{title.clone()}</a>
                {deal.stale.then(|| view! { <span class="badge stale" title="Idle longer than this stage's rot days">"Stale"</span> })}
            </div>
            {deal.contact_name.clone().map(|n| view! { <p class="muted small card-contact">{n}</p> })}
            <div class="card-figures">
                <span class="money">{amount.unwrap_or_else(|| "No amount".into())}</span>
                <span class="muted small" title=if deal.probability_explicit { "Set by a manager" } else { "The stage's default" }>
                    {format!("{} %", deal.probability)}
                </span>
            </div>
            {deal.owner_name.clone().map(|o| view! { <p class="muted small">{o}</p> })}
            {can_move.then(|| view! {
                <label class="move-to">
                    <span class="visually-hidden">{format!("Move “{title}” to…")}</span>
                    <select node_ref=select_ref aria-label=format!("Move “{title}” to…")
                        on:change=move |ev| {
                            let value = event_target_value(&ev);
                            // The control always shows the card's own stage; the move (or its question) follows.
                            if let Some(sel) = select_ref.get() {
                                sel.set_value(&stage.to_string());
                            }
                            if let Ok(to) = value.parse::<StageId>() {
                                ctx.request(Move::to_end(id, to));
                            }
                        }>
                        {stages.iter().map(|(sid, name)| view! {
                            <option value=sid.to_string() selected=*sid == stage>
                                {if *sid == stage { format!("Move to… ({name})") } else { name.clone() }}
                            </option>
                        }).collect_view()}
                    </select>
                </label>
            })}
        </li>
    }
    .into_any()
}

/// Asks for the lost reason, or confirms a win with its amount, before the move is sent.
#[component]
fn PendingDialog(pending: RwSignal<Option<Pending>>, state: BoardState) -> impl IntoView {
    let reason = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let input_ref = NodeRef::<leptos::html::Input>::new();
    let confirm_ref = NodeRef::<leptos::html::Button>::new();
    Effect::new(move |_| {
        if pending.with(|p| p.is_some()) {
            reason.set(String::new());
            error.set(None);
            if let Some(i) = input_ref.get() {
                let _ = i.focus();
            } else if let Some(b) = confirm_ref.get() {
                let _ = b.focus();
            }
        }
    });
    let cancel = move || pending.set(None);
    let confirm = move || {
        let Some(p) = pending.get_untracked() else {
            return;
        };
        let r = reason.get_untracked();
        if p.kind == StageKind::Lost && r.trim().is_empty() {
            error.set(Some("Say why the deal was lost.".into()));
            return;
        }
        pending.set(None);
        state.send(p.deal, p.target, r);
    };
    move || {
        {
        pending.get().map(|p| {
        let lost = p.kind == StageKind::Lost;
        let amount = p.deal.amount.map(|m| format_money(m.amount_minor, m.currency)).unwrap_or_else(|| "no amount".into());
        view! {
            <div class="modal-backdrop" on:click=move |_| cancel()>
                <div class="modal card" role="dialog" aria-modal="true" aria-labelledby="pending-title"
                    on:click=|ev| ev.stop_propagation()
                    on:keydown=move |ev| if ev.key() == "Escape" { cancel() }>
                    <h2 id="pending-title">{if lost { format!("Mark “{}” as lost", p.deal.title) } else { format!("Mark “{}” as won", p.deal.title) }}</h2>
                    <form class="form" on:submit=move |ev| { ev.prevent_default(); confirm(); }>
                        {if lost {
                            view! {
                                <div class="field">
                                    <label for="lost-reason">"Why was it lost?"</label>
                                    <input id="lost-reason" node_ref=input_ref type="text" autocomplete="off"
                                        aria-describedby="lost-reason-error"
                                        on:input=move |ev| reason.set(event_target_value(&ev))/>
                                    <Show when=move || error.get().is_some()>
                                        <p class="field-error" id="lost-reason-error" role="alert">{move || error.get()}</p>
                                    </Show>
                                </div>
                            }.into_any()
                        } else {
                            view! { <p>"Won for " <strong class="money">{amount}</strong> ". Is the amount right?"</p> }.into_any()
                        }}
                        <div class="form-actions">
                            <button type="button" class="btn" on:click=move |_| cancel()>"Cancel"</button>
                            <button type="submit" class="btn btn-primary" node_ref=confirm_ref>
                                {if lost { "Mark as lost" } else { "Mark as won" }}
                            </button>
                        </div>
                    </form>
                </div>
            </div>
        }
    })
    }
    .into_any()
    }
}
