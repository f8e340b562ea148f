"""``Action``: an outside action (e.g. a webhook) a belt asks for, run once per event, belt and action.

The worker turns it into ``{"_action": name, "payload": payload}``, the same shape the
JavaScript sandbox's ``Action(name, payload)`` returns.
"""


class Action(object):
    __slots__ = ("name", "payload", "key")

    def __init__(self, name, payload=None, key=None):
        self.name = name
        self.payload = payload
        # Optional dedupe key: one delivery per (name, key), whichever event asks first.
        self.key = key

    def to_dict(self):
        d = {"_action": self.name, "payload": self.payload}
        if self.key is not None:
            d["key"] = self.key
        return d

    def __eq__(self, other):
        return isinstance(other, Action) and other.name == self.name and other.payload == self.payload and other.key == self.key

    def __ne__(self, other):
        return not self.__eq__(other)

    __hash__ = None

    def __repr__(self):
        if self.key is not None:
            return "Action(%r, %r, key=%r)" % (self.name, self.payload, self.key)
        return "Action(%r, %r)" % (self.name, self.payload)


__all__ = ["Action"]
