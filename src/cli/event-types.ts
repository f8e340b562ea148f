import type { Command } from 'commander';
import { BUILT_IN_TYPES, parseEventTypeBody } from '../eventtypes/definition';
import { createEventType, deleteEventType, getEventType, listEventTypes, updateEventType } from '../eventtypes/store';
import { registerResourceCommands } from './resource';

export function registerEventTypeCommands(program: Command): void {
  registerResourceCommands(program, {
    command: 'event-types',
    noun: 'event type',
    description: 'event types (seed 001): data_in, live_segment, time_to_live, time_to_notify',
    parse: parseEventTypeBody,
    list: listEventTypes,
    get: getEventType,
    create: createEventType,
    update: updateEventType,
    remove: deleteEventType,
    line: (t) => `${t.name.padEnd(24)} ${t.type.padEnd(15)} ${t.displayName}`,
    builtIn: BUILT_IN_TYPES,
  });
}
