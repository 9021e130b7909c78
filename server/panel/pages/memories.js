// Memories: what the bot remembers about a user (full-text search), add and forget.
import { html, useState } from '../lib.js';
import { api, get, query } from '../api.js';
import { t, fmtTime } from '../i18n.js';
import { useLoad, useAction, ErrorNote, Spinner, Card, PageHead, Button, ConfirmButton, Field, Table } from '../ui.js';

export default function Memories() {
  const [userId, setUserId] = useState('panel');
  const [search, setSearch] = useState('');
  const [content, setContent] = useState('');
  const list = useLoad(() => get(`/api/chat/memories${query({ userId, query: search, limit: 100 })}`), [userId, search]);
  const add = useAction();
  const remove = useAction();
  const submit = async (e) => {
    e.preventDefault();
    if ((await add.run(() => api('POST', '/api/chat/memories', { userId, content: content.trim() }))) !== undefined) {
      setContent('');
      list.reload();
    }
  };
  return html`<div class="stack">
    <${PageHead} title=${t('Memories')} subtitle=${t('Facts the bot keeps per user and offers in its prompt.')} />
    <${Card}>
      <div class="form">
        <${Field} label=${t('User id')}><input value=${userId} onChange=${(e) => setUserId(e.currentTarget.value)} /><//>
        <${Field} label=${t('Search')}><input type="search" value=${search} onChange=${(e) => setSearch(e.currentTarget.value)} /><//>
      </div>
    <//>
    <${Card} title=${t('Remember something')}>
      <form class="form" onSubmit=${submit}>
        <${Field} label=${t('Memory')} wide><textarea required value=${content} onInput=${(e) => setContent(e.currentTarget.value)}></textarea><//>
        <${ErrorNote} error=${add.error} />
        <div class="form-actions"><${Button} kind="primary" type="submit" busy=${add.busy}>${t('Add')}<//></div>
      </form>
    <//>
    <${Card} title=${t('Memories of {user}', { user: userId })} actions=${html`<${ConfirmButton} label=${t('Forget all')} confirmLabel=${t('Yes, forget all')}
        busy=${remove.busy} onConfirm=${async () => { await remove.run(() => api('DELETE', '/api/chat/memories', { userId })); list.reload(); }} />`}>
      <${ErrorNote} error=${list.error || remove.error} />
      ${!list.data ? html`<${Spinner} />` : html`<${Table} label=${t('Memories')} rows=${list.data} rowKey=${(m) => m.id} empty=${t('Nothing remembered.')} columns=${[
        { label: t('Memory'), key: 'content' },
        { label: t('Created'), render: (m) => fmtTime(m.createdAt) },
        { label: html`<span class="sr-only">${t('Actions')}</span>`, render: (m) => html`<${ConfirmButton} label=${t('Forget')} confirmLabel=${t('Yes, forget')}
          onConfirm=${async () => { await remove.run(() => api('DELETE', `/api/chat/memories/${encodeURIComponent(m.id)}`)); list.reload(); }} />` },
      ]} />`}
    <//>
  </div>`;
}
