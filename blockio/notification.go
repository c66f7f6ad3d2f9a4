package blockio

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
)

// Notification is a block.io push subscription (webhook).
type Notification struct {
	ID      string `json:"notification_id"`
	Type    string `json:"type"` // account, address, new-blocks, new-transactions
	Enabled bool   `json:"enabled"`
	URL     string `json:"url"`
}

// CreateNotification registers a webhook of type typ posting to target.
func (c *Client) CreateNotification(ctx context.Context, typ, target string) (Notification, error) {
	data, err := c.Call(ctx, "create_notification", url.Values{"type": {typ}, "url": {target}})
	if err != nil {
		return Notification{}, fmt.Errorf("blockio: create %s notification: %w", typ, err)
	}
	var n Notification
	if err := json.Unmarshal(data, &n); err != nil || n.ID == "" {
		return Notification{}, c.malformed("create_notification", data, err)
	}
	return n, nil
}

// Notifications lists the account's webhooks (get_notifications). block.io
// has answered both with a bare list and with {"notifications": [...]};
// both are accepted.
func (c *Client) Notifications(ctx context.Context) ([]Notification, error) {
	data, err := c.Call(ctx, "get_notifications", nil)
	if err != nil {
		return nil, fmt.Errorf("blockio: list notifications: %w", err)
	}
	var list []Notification
	if err := json.Unmarshal(data, &list); err == nil {
		return list, nil
	}
	var wrapped struct {
		Notifications []Notification `json:"notifications"`
	}
	if err := json.Unmarshal(data, &wrapped); err != nil {
		return nil, c.malformed("get_notifications", data, err)
	}
	return wrapped.Notifications, nil
}

// DeleteNotification removes the webhook with the given id.
func (c *Client) DeleteNotification(ctx context.Context, id string) error {
	if _, err := c.Call(ctx, "delete_notification", url.Values{"notification_id": {id}}); err != nil {
		return fmt.Errorf("blockio: delete notification %s: %w", id, err)
	}
	return nil
}
