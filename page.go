package walletgate

// Page asks for one page of a listing: items after Cursor (0 starts), at
// most Limit of them.
type Page struct {
	Cursor int64
	Limit  int
}

// MaxPageLimit is the largest Page.Limit a DepositStore accepts; APIs set
// their own, smaller limits and pass them through.
const MaxPageLimit = 10000

// Validate checks a page request before a store runs it.
func (p Page) Validate() error {
	if p.Cursor < 0 {
		return Errorf(EInvalid, "cursor %d is negative", p.Cursor)
	}
	if p.Limit <= 0 || p.Limit > MaxPageLimit {
		return Errorf(EInvalid, "limit %d is outside 1..%d", p.Limit, MaxPageLimit)
	}
	return nil
}
