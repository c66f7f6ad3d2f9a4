package walletgate

import "testing"

func TestEventRelayForwardsOnlyAfterTargetIsSet(t *testing.T) {
	var r EventRelay
	var got []Event
	r.Publish(Event{Kind: EventBlock, Tip: Tip{Height: 1}})
	r.SetTarget(EventSinkFunc(func(ev Event) { got = append(got, ev) }))
	r.Publish(Event{Kind: EventBlock, Tip: Tip{Height: 2}})
	r.Publish(Event{Kind: EventScriptHash, ScriptHash: "ab"})
	if len(got) != 2 || got[0].Tip.Height != 2 || got[1].ScriptHash != "ab" {
		t.Fatalf("relay delivered %+v; want the two events published after SetTarget", got)
	}
}
