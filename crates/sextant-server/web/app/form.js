// A form generated from a JSON Schema object: one labelled control per property.
import { el } from './fmt.js';

const types = (p) => (Array.isArray(p.type) ? p.type : [p.type]).filter(Boolean);

/** A field wrapper: label, control, description and an error slot (aria-describedby). */
export function field(id, label, control, help) {
  const err = el('p', { class: 'field-error', id: id + '-err', 'aria-live': 'polite' });
  control.setAttribute('aria-describedby', id + '-err' + (help ? ' ' + id + '-help' : ''));
  const isBox = control.type === 'checkbox';
  return el('div', { class: 'field' + (isBox ? ' check' : ''), 'data-field': control.name || id },
    isBox ? el('label', { for: id }, control, el('span', null, label)) : [el('label', { for: id }, label), control],
    help ? el('p', { class: 'muted small', id: id + '-help' }, help) : null,
    err);
}

/** Sets (or clears, with '') the error text of the field holding control `name` in `form`. */
export function setFieldError(form, name, message) {
  const f = form.querySelector('[data-field="' + CSS.escape(name) + '"]');
  if (!f) return false;
  const e = f.querySelector('.field-error');
  e.textContent = message || '';
  const c = f.querySelector('input, select, textarea');
  if (c) { if (message) c.setAttribute('aria-invalid', 'true'); else c.removeAttribute('aria-invalid'); }
  return true;
}
export function clearErrors(form) {
  for (const e of form.querySelectorAll('.field-error')) e.textContent = '';
  for (const c of form.querySelectorAll('[aria-invalid]')) c.removeAttribute('aria-invalid');
}

/**
 * Controls for `schema.properties` in a fieldset. Returns {node, read()} where read() gives the
 * params object (empty optional values left out so the server's defaults apply) or throws
 * {field, message} for a value that cannot be sent.
 */
export function schemaFields(schema, prefix = 'p-') {
  const props = (schema && schema.properties) || {};
  const required = new Set(schema.required || []);
  const readers = [];
  const nodes = [];
  for (const [name, p] of Object.entries(props)) {
    const id = prefix + name;
    const t = types(p);
    const label = (p.description || p.title || name) + (required.has(name) ? ' (required)' : '');
    const code = el('code', { class: 'pname' }, name);
    let control, read;
    if (Array.isArray(p.enum)) {
      control = el('select', { id, name }, p.enum.map((v) => el('option', { value: JSON.stringify(v), selected: v === p.default }, String(v))));
      read = () => JSON.parse(control.value);
    } else if (t.includes('boolean') && t.length === 1) {
      control = el('input', { id, name, type: 'checkbox', checked: p.default === true });
      read = () => control.checked;
    } else if (t.includes('integer') || t.includes('number')) {
      const isInt = t.includes('integer') && !t.includes('number');
      control = el('input', {
        id, name, type: 'number', inputmode: isInt ? 'numeric' : 'decimal',
        min: p.minimum ?? p.exclusiveMinimum, max: p.maximum ?? p.exclusiveMaximum,
        step: p.multipleOf || (isInt ? 1 : 'any'), value: p.default ?? '',
      });
      read = () => {
        const v = control.value.trim();
        if (v === '') return undefined;
        const n = Number(v);
        if (!Number.isFinite(n)) throw { field: name, message: 'not a number' };
        if (isInt && !Number.isInteger(n)) throw { field: name, message: 'must be a whole number' };
        return n;
      };
    } else if (t.includes('object') || t.includes('array')) {
      control = el('textarea', { id, name, rows: 3, spellcheck: 'false', placeholder: t.includes('string') ? 'JSON, or a definition id' : 'JSON' });
      if (p.default != null) control.value = JSON.stringify(p.default, null, 1);
      read = () => {
        const v = control.value.trim();
        if (v === '') return undefined;
        try { return JSON.parse(v); } catch (e) {
          if (t.includes('string')) return v;
          throw { field: name, message: 'not valid JSON: ' + e.message };
        }
      };
    } else {
      control = el('input', { id, name, type: 'text', minlength: p.minLength, maxlength: p.maxLength, value: p.default ?? '', autocomplete: 'off', spellcheck: 'false' });
      // The schema's pattern is checked here (an HTML pattern attribute would be compiled with
      // the `v` flag, which rejects some valid JSON Schema patterns).
      let re = null;
      try { re = p.pattern ? new RegExp(p.pattern, 'u') : null; } catch (e) { re = null; }
      read = () => {
        const v = control.value;
        if (v === '') return undefined;
        if (re && !re.test(v)) throw { field: name, message: 'must match ' + p.pattern };
        return v;
      };
    }
    if (required.has(name)) control.setAttribute('aria-required', 'true');
    readers.push([name, read]);
    nodes.push(field(id, [label, ' ', code], control));
  }
  const node = el('fieldset', { id: 'params', class: 'grid' },
    el('legend', null, 'Strategy parameters'),
    nodes.length ? nodes : el('p', { class: 'muted' }, 'This strategy takes no parameters.'));
  return {
    node,
    read() {
      const out = {};
      for (const [name, r] of readers) {
        const v = r();
        if (v !== undefined) out[name] = v;
      }
      return out;
    },
  };
}
