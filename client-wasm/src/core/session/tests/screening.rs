//! Entry screening on the page's side: the relay's request becomes the adapter's checks, their
//! facts go back once, and each way of ending shows its message and code.

use rollgym_protocol::{OutcomeName, ScreenFacts, ScreenRequest};

use super::*;

fn screening_session() -> (Session, Vec<Command>) {
    let mut s = Session::new(Some(id("p")));
    s.handle(Input::Relay(welcome("p")), 0.0);
    let request = ScreenRequest { min_width: 800, min_height: 600, ..ScreenRequest::default() };
    let commands = s.handle(Input::Relay(ServerMsg::Screen(request)), 0.0);
    (s, commands)
}

#[test]
fn the_checks_run_then_their_facts_go_to_the_relay_once() {
    let (mut s, commands) = screening_session();
    assert!(matches!(&commands[..], [Command::Screen(r)] if r.min_width == 800));
    assert_eq!(s.status().phase, Phase::Screening);
    assert!(s.screening());
    s.handle(Input::ScreenPrompt(Some("Please enlarge your window.".into())), 0.0);
    assert_eq!(s.status().notice.as_deref(), Some("Please enlarge your window."));
    let facts = Box::new(ScreenFacts { window: [1024, 768], ..ScreenFacts::default() });
    let sent = s.handle(Input::Screened(facts.clone()), 0.0);
    assert_eq!(sent, vec![Command::SendRelay(ClientMsg::ScreenFacts(facts.clone()))]);
    assert_eq!(s.status().notice, None, "the prompt goes with the report");
    // Placed: the checks are over, and late facts go nowhere.
    s.handle(Input::Relay(ServerMsg::Waiting { waiting: 1, needed: 2 }), 0.0);
    assert!(!s.screening());
    assert!(s.handle(Input::Screened(facts), 0.0).is_empty());
}

#[test]
fn screened_out_shows_its_message_and_code_and_ends_the_session() {
    let (mut s, _) = screening_session();
    let exit = ServerMsg::exit(
        OutcomeName::ScreenedOut,
        "Desktops only.".into(),
        Some("SCREENED1".into()),
        None,
    );
    s.handle(Input::Relay(exit), 0.0);
    assert_eq!(s.status().phase, Phase::ScreenedOut);
    assert_eq!(s.status().outcome, Some(Outcome::ScreenedOut));
    assert!(s.status().is_over());
    let result = s.status().result(None);
    assert_eq!(result.completion_code.as_deref(), Some("SCREENED1"));
    assert!(!s.needs_relay(), "nothing left to do with the relay");
    assert!(s.handle(Input::Relay(paired_msg(0, 1, "late")), 0.0).is_empty());
}

#[test]
fn a_loading_timeout_is_an_error_page_with_its_outcome() {
    let (mut s, _) = screening_session();
    let exit = ServerMsg::exit(OutcomeName::LoadingFailed, "Could not load.".into(), None, None);
    s.handle(Input::Relay(exit), 0.0);
    assert_eq!(s.status().phase, Phase::Error);
    assert_eq!(s.status().outcome, Some(Outcome::LoadingFailed));
    assert_eq!(s.status().last_error.as_deref(), Some("Could not load."));
}

#[test]
fn an_ending_this_page_does_not_know_still_ends_it() {
    let (mut s, _) = screening_session();
    let exit = ServerMsg::Exit {
        outcome: "banished".into(),
        message: "Bye.".into(),
        completion_code: None,
        redirect_url: None,
    };
    s.handle(Input::Relay(exit), 0.0);
    assert!(s.status().phase.is_terminal());
}

#[test]
fn the_screening_connection_signals_through_the_relay_and_echoes_the_peer() {
    let (mut s, _) = screening_session();
    let offer = SignalPayload::Offer { sdp: "v=0".into() };
    assert_eq!(
        s.handle(Input::ScreenSignal(offer.clone()), 0.0),
        vec![Command::SendRelay(ClientMsg::ScreenSignal { payload: offer })]
    );
    let answer = SignalPayload::Answer { sdp: "v=0".into() };
    let applied = s.handle(Input::Relay(ServerMsg::ScreenSignal { payload: answer.clone() }), 0.0);
    assert_eq!(applied, vec![Command::ApplyScreenSignal(answer.clone())]);
    assert_eq!(
        s.handle(Input::ScreenEcho(vec![b'p', 0, 0, 0, 1]), 0.0),
        vec![Command::SendScreen(vec![b'p', 0, 0, 0, 1])]
    );
    // Once placed, the screening connection is over: nothing more goes through it.
    s.handle(Input::Relay(ServerMsg::Waiting { waiting: 1, needed: 2 }), 0.0);
    assert!(s.handle(Input::ScreenEcho(vec![1]), 0.0).is_empty());
    assert!(s.handle(Input::Relay(ServerMsg::ScreenSignal { payload: answer }), 0.0).is_empty());
}
