// Routes the server's messages to the views. A message type that a view
// declares in its `messages` goes to that view, which drops answers to
// requests it has since superseded; the types every request may get
// (error, done) go to the view that owns the id; anything else (an error
// without an id, the answer to a stop) goes to every view's unowned.

export class Router {
  constructor(views) {
    this.views = views;
    this.byType = new Map();
    for (const v of views) {
      for (const type of v.messages || []) {
        if (this.byType.has(type)) throw new Error(`views ${this.byType.get(type).name} and ${v.name} both take ${type}`);
        this.byType.set(type, v);
      }
    }
  }

  route(msg) {
    let v = this.byType.get(msg.type);
    if (!v && msg.id) v = this.views.find((w) => w.owns && w.owns(msg.id));
    if (v) {
      v.receive(msg);
      return;
    }
    for (const w of this.views) if (w.unowned) w.unowned(msg);
  }
}
