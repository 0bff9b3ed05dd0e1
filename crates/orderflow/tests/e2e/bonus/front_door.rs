use orderflow_front_door::{FrontDoor, FrontDoorSettings, Upstream};
use tokio_util::sync::CancellationToken;

use super::*;

#[tokio::test(flavor = "multi_thread")]
async fn the_front_door_answers_a_clear_page_for_bonus_until_it_runs_then_routes_to_it() {
    // Arrange: a front door that knows where bonus will listen; nothing listens there yet.
    let system = TestSystem::new();
    let order = system.start_order().await;
    let bonus_port = orderflow_testkit::free_port();
    let mut settings = FrontDoorSettings::local(0);
    settings.upstreams = vec![
        Upstream::local(&orderflow_directory::ORDER, port_of(&order.url)),
        Upstream {
            required: false,
            ..Upstream::local(&orderflow_directory::BONUS, bonus_port)
        },
    ];
    let front_door = FrontDoor::build(settings).await.unwrap();
    let base = format!("http://127.0.0.1:{}/", front_door.port());
    let stop = CancellationToken::new();
    let _serving = tokio::spawn(front_door.run_until(stop.clone()));
    let _stop = stop.drop_guard();

    // Assert: a clear 502 page, at once; the home page says bonus is not running; the front
    // door's health is still up (bonus is not required).
    let started = tokio::time::Instant::now();
    let (status, page) = system.get_text(format!("{base}bonus/")).await;
    assert_eq!(status, 502, "{page}");
    assert!(
        page.contains("not reachable right now") && page.contains("orderflow bonus"),
        "{page}"
    );
    assert!(
        started.elapsed() < DEADLINE / 4,
        "the 502 took {:?}",
        started.elapsed()
    );
    let (_, home) = system.get_text(base.clone()).await;
    assert!(home.contains("not running"), "{home}");
    let (status, health) = system.get_text(format!("{base}health")).await;
    assert_eq!(status, 200, "{health}");

    // Act: bonus starts on its port.
    let mut bonus_settings = orderflow_bonus::Application::default_settings(
        system.env.database(&system.iso, "bonus").0,
        orderflow_consumer::Transport::Kafka(
            system.kafka().with_topic(system.kafka().state_topic()),
        ),
    );
    bonus_settings.port = bonus_port;
    bonus_settings.database.schema = system.env.database(&system.iso, "bonus").1;
    bonus_settings.group = system.iso.group("bonus");
    let bonus = orderflow_bonus::Application::build(bonus_settings)
        .await
        .unwrap();
    let bonus_stop = CancellationToken::new();
    let _bonus = tokio::spawn(bonus.run_until(bonus_stop.clone()));
    let _bonus_stop = bonus_stop.drop_guard();

    // Assert: routed, and shown as running.
    let (status, page) = system.get_text(format!("{base}bonus/")).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Bonus : Customers"), "{page}");
    let (_, home) = system.get_text(base).await;
    assert!(!home.contains("not running"), "{home}");
}

fn port_of(url: &str) -> u16 {
    url.trim_end_matches('/')
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}
