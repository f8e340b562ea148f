# Seed 004's input filter and output decision as one belt. The profile is the state storage
# (seed: the DynamoDB table): cart_offers.removed_items, purchase, purchase_value, offer_sent.
from grnry_belt.models.action import Action

OFFER_THRESHOLD = 50


# Function to get values from unstruct data fields
def get_unstruct(event, name, value):
    if event.get(name):
        return event.get(name).get(value)
    return None


def execute(event_headers, event_payload, profile=None):
    user_id = event_headers['grnry-correlation-id']
    state = (profile or {}).get('cart_offers') or {}

    # Update the state only if we haven't yet sent an offer
    if state.get('offer_sent'):
        print('Activity ignored - offer already sent to user')
        return []

    removed_items = list(state.get('removed_items') or [])
    purchase = bool(state.get('purchase'))
    purchase_value = state.get('purchase_value') or 0
    updates = []

    # A remove from cart: add the sku of the item removed to the set
    if event_payload['event_name'] == 'remove_from_cart':
        sku = get_unstruct(event_payload, 'unstruct_event_com_snowplowanalytics_snowplow_remove_from_cart_1', 'sku')
        if sku is None:
            return []
        updates.append({'_operation': '_add_to_set', '_id': user_id, '_path': ['cart_offers', 'removed_items'], '_value': {'_v': sku}})
        if sku not in removed_items:
            removed_items.append(sku)

    # A transaction: the purchase flag and the purchase value
    if event_payload['event_name'] == 'transaction':
        purchase = True
        purchase_value = event_payload.get('tr_total') or 0
        updates.append({'_id': user_id, '_path': ['cart_offers', 'purchase'], '_value': {'_v': True}})
        updates.append({'_id': user_id, '_path': ['cart_offers', 'purchase_value'], '_value': {'_v': purchase_value}})

    # The output side: a purchase over 50, removed items, no offer yet -> send one offer. The key
    # makes it one per user even when two events of the same batch (same profile) both decide.
    if purchase and purchase_value > OFFER_THRESHOLD and removed_items:
        updates.append({'_id': user_id, '_path': ['cart_offers', 'offer_sent'], '_value': {'_v': True}})
        offer = {'user_id': user_id, 'skus': sorted(removed_items), 'purchase_value': purchase_value, 'discount_percent': 10}
        updates.append(Action('send-offer', offer, key='offer/' + user_id))
    return updates
